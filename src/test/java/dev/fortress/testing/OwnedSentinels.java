package dev.fortress.testing;

import io.dropwizard.testing.ConfigOverride;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.stream.Collectors;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.args.ClientType;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.params.ClientKillParams;

/**
 * A Redis master, one replica and three Sentinels of the test's own, as child processes on free
 * loopback ports without persistence ({@code redis-server}, {@code redis-sentinel}, Debian's
 * packages), with failure detection short enough for a test: a test can kill the master and watch
 * the Sentinels promote the replica. Returns from its constructor once every Sentinel knows the
 * master, the replica and the other two; everything is stopped and deleted on {@link #close} or when
 * the JVM ends.
 * <p>
 * The replica replicates as a user of its own ({@value #REPLICATION_USER}), so that
 * {@link #cutReplication} can stop it without touching the master's other clients: the last writes
 * the master then takes are lost in a failover, as they may be with Redis's asynchronous replication.
 */
public final class OwnedSentinels implements AutoCloseable {

    public static final String MASTER_NAME = "fortress-test";
    /** How long a Sentinel waits for a PING answer before it thinks a server down (Redis's default: 30 s). */
    private static final int DOWN_AFTER_MILLIS = 1000;
    /** Sentinel's failover-timeout (default 3 min): also how soon a failed failover is tried again (twice it). */
    private static final int FAILOVER_TIMEOUT_MILLIS = 5000;

    private static final String REPLICATION_USER = "replication";
    private static final String REPLICATION_PASSWORD = "replication-secret";
    private static final Duration START = Duration.ofSeconds(30);

    private final Path dir = OwnedProcesses.directory("fault-sentinels-");
    private final int firstMaster = OwnedProcesses.freePort();
    private final int firstReplica = OwnedProcesses.freePort();
    private final List<Integer> sentinels =
            List.of(OwnedProcesses.freePort(), OwnedProcesses.freePort(), OwnedProcesses.freePort());
    /** Every process started, by port. */
    private final Map<Integer, Process> processes = new HashMap<>();

    public OwnedSentinels() {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            close();
                            OwnedProcesses.deleteQuietly(dir);
                        },
                        "stop-sentinels-" + firstMaster));
        startRedis(
                firstMaster,
                List.of("--user", REPLICATION_USER, "on", ">" + REPLICATION_PASSWORD, "~*", "&*", "+@all"));
        startRedis(
                firstReplica,
                List.of(
                        "--replicaof",
                        "127.0.0.1",
                        String.valueOf(firstMaster),
                        "--masteruser",
                        REPLICATION_USER,
                        "--masterauth",
                        REPLICATION_PASSWORD));
        await(
                () -> "up".equals(info(firstReplica, "replication").get("master_link_status")),
                "the replica streams from the master");
        for (int port : sentinels) {
            startSentinel(port);
        }
        await(
                () -> sentinels.stream().allMatch(port -> {
                    try {
                        Map<String, String> master = sentinel(port, j -> j.sentinelMaster(MASTER_NAME));
                        return "1".equals(master.get("num-slaves")) && "2".equals(master.get("num-other-sentinels"));
                    } catch (JedisException e) {
                        return false; // not answering yet
                    }
                }),
                "every Sentinel knows the replica and the other two");
    }

    /** Points a FortressApp's cache at the Sentinels. */
    public ConfigOverride[] overrides() {
        return new ConfigOverride[] {
            ConfigOverride.config(
                    "redis.sentinels",
                    sentinels.stream().map(port -> "127.0.0.1:" + port).collect(Collectors.joining(","))),
            ConfigOverride.config("redis.masterName", MASTER_NAME),
        };
    }

    /** The first master (until a failover, the master). */
    public HostAndPort firstMaster() {
        return new HostAndPort("127.0.0.1", firstMaster);
    }

    /** The first replica (after a failover, the master). */
    public HostAndPort firstReplica() {
        return new HostAndPort("127.0.0.1", firstReplica);
    }

    /** The master the Sentinels name now (the first that answers). */
    public HostAndPort master() {
        for (int port : sentinels) {
            try {
                List<String> address = sentinel(port, j -> j.sentinelGetMasterAddrByName(MASTER_NAME));
                return new HostAndPort(address.get(0), Integer.parseInt(address.get(1)));
            } catch (JedisException e) {
                // that Sentinel is down: ask the next
            }
        }
        throw new IllegalStateException("no Sentinel answers on " + sentinels);
    }

    /** A connection of the test's own to one of the Redis servers (close it). */
    public Jedis connect(HostAndPort server) {
        return new Jedis(
                server,
                DefaultJedisClientConfig.builder()
                        .connectionTimeoutMillis(2000)
                        .socketTimeoutMillis(2000)
                        .autoNegotiateProtocol(false)
                        .build()); // RESP2: no HELLO, no warning
    }

    /** Waits until every write the master took so far is on the replica. */
    public void awaitReplicated() {
        try (Jedis master = connect(firstMaster())) {
            master.set("owned-sentinels:replicated", "1"); // WAIT counts from this connection's last write
            if (master.waitReplicas(1, START.toMillis()) < 1) {
                throw new IllegalStateException("the replica did not acknowledge the master's writes");
            }
        }
    }

    /**
     * Stops replication, and returns once the replica's link is down: its user is turned off on the
     * master and its connection closed, so it cannot make another. The master's clients see nothing.
     */
    public void cutReplication() {
        try (Jedis master = connect(firstMaster())) {
            master.aclSetUser(REPLICATION_USER, "off");
            master.clientKill(ClientKillParams.clientKillParams().type(ClientType.REPLICA));
        }
        await(
                () -> !"up".equals(info(firstReplica, "replication").get("master_link_status")),
                "the replica's link to the master is down");
    }

    /** SIGKILLs the first master: no goodbye to its clients or its replica, as when its host dies. */
    public void killFirstMaster() {
        Process process = processes.get(firstMaster);
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The clients of {@code server} ({@code CLIENT LIST}), one line each. */
    public List<String> clients(HostAndPort server) {
        try (Jedis jedis = connect(server)) {
            return List.of(jedis.clientList().split("\n"));
        }
    }

    @Override
    public synchronized void close() {
        processes.values().forEach(p -> OwnedProcesses.terminate(p, Duration.ofSeconds(5)));
    }

    private void startRedis(int port, List<String> extra) {
        List<String> command = new ArrayList<>(List.of(
                "redis-server",
                "--port",
                String.valueOf(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                dir.toString()));
        command.addAll(extra);
        start(port, command, "redis-" + port + ".log", "redis-server");
    }

    private void startSentinel(int port) {
        Path config = dir.resolve("sentinel-" + port + ".conf"); // a Sentinel rewrites its file: one each
        try {
            Files.writeString(
                    config,
                    String.join(
                            "\n",
                            "port " + port,
                            "bind 127.0.0.1",
                            "daemonize no",
                            "dir " + dir,
                            "sentinel monitor " + MASTER_NAME + " 127.0.0.1 " + firstMaster + " 2",
                            "sentinel down-after-milliseconds " + MASTER_NAME + " " + DOWN_AFTER_MILLIS,
                            "sentinel failover-timeout " + MASTER_NAME + " " + FAILOVER_TIMEOUT_MILLIS,
                            "sentinel parallel-syncs " + MASTER_NAME + " 1",
                            ""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        start(port, List.of("redis-sentinel", config.toString()), "sentinel-" + port + ".log", "redis-sentinel");
    }

    private synchronized void start(int port, List<String> command, String logName, String what) {
        Path log = dir.resolve(logName);
        processes.put(port, OwnedProcesses.start(new ProcessBuilder(command), log));
        OwnedProcesses.awaitPort(port, Duration.ofSeconds(10), what, log);
    }

    private <T> T sentinel(int port, Function<Jedis, T> call) {
        try (Jedis jedis = connect(new HostAndPort("127.0.0.1", port))) {
            return call.apply(jedis);
        }
    }

    /** One section of INFO as a map (empty when the server does not answer). */
    public Map<String, String> info(int port, String section) {
        Map<String, String> fields = new HashMap<>();
        try (Jedis jedis = connect(new HostAndPort("127.0.0.1", port))) {
            for (String line : jedis.info(section).split("\r?\n")) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    fields.put(line.substring(0, colon), line.substring(colon + 1));
                }
            }
        } catch (JedisException e) {
            // down: no fields
        }
        return fields;
    }

    private void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + START.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(what + ": not after " + START.toSeconds() + " s; logs in " + dir);
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }
}
