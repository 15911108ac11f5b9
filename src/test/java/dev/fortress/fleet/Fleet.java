package dev.fortress.fleet;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.testing.Await;
import dev.fortress.testing.Http;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The fleet {@code bin/cluster} builds (docs/design/fleet.md), brought up once for every fleet test
 * of a run and removed when the run ends, whatever its outcome. A test class says
 * {@code @ExtendWith(Fleet.class)}; the first one runs {@code bin/cluster up}, and the root context's
 * store closes it ({@code bin/cluster down}) after the last, so the classes share one cluster. A JVM
 * shutdown hook takes it down too if the run is interrupted.
 *
 * <p>The tests need root (network namespaces) and the project's jar: run them with
 * {@code mvn -B verify -Pfleet}, which builds the jar before its integration-test phase, so
 * {@code bin/cluster up} finds it fresh. They refuse to start while another fleet runs on the machine
 * (they would take it down at the end) unless {@code -Dfleet.reuse=true}, which runs them against the
 * running fleet and leaves it up.
 *
 * <p>Every command's output is appended to {@code target/fleet/cluster.log}; each test's summary line
 * goes to stdout and {@code target/fleet-summary.md}.
 */
public final class Fleet implements BeforeAllCallback {

    /** Failsafe runs in the project's directory. */
    static final Path REPO = Path.of("").toAbsolutePath();

    static final Path LOG = REPO.resolve("target/fleet/cluster.log");
    static final Path SUMMARY = REPO.resolve("target/fleet-summary.md");
    /** As bin/cluster.d/common.sh: the private network and the state directory. */
    static final String NET = env("FORTRESS_CLUSTER_NET", "10.77.0");

    static final Path STATE = Path.of(env("FORTRESS_CLUSTER_DIR", "/var/tmp/fortress-cluster"));
    static final List<String> HOSTS =
            List.of("monitor", "cache", "cache2", "db1", "db2", "db3", "api1", "api2", "api3", "worker1", "worker2");
    static final List<String> APIS = List.of("api1", "api2", "api3");
    static final List<String> WORKERS = List.of("worker1", "worker2");
    /** The load balancer's API and stats addresses (bin/cluster.d/common.sh). */
    static final String LB = "127.0.0.1";

    static final int LB_PORT = 8090;
    static final int LB_STATS_PORT = 8404;
    static final int APP_PORT = 8080;
    static final int ADMIN_PORT = 8081;
    static final int PG_PORT = 5432;
    /** The organisation of the key bin/cluster up prints (users 6, 106, ... of its seed). */
    static final long ORG = 7;

    static final long SEED_USER = 6;

    /**
     * How long a fleet test's client waits for an answer where the primary may be gone: longer than the
     * fleet's primaryWait (12 s, bin/cluster.d/fortress.sh), for which a request that finds no primary
     * is held before its 503.
     */
    static final Duration CLIENT_PATIENCE = Duration.ofSeconds(30);

    private static final Map<String, String> ADDRESSES = Map.ofEntries(
            Map.entry("monitor", NET + ".51"),
            Map.entry("cache", NET + ".41"),
            Map.entry("cache2", NET + ".42"),
            Map.entry("db1", NET + ".31"),
            Map.entry("db2", NET + ".32"),
            Map.entry("db3", NET + ".33"),
            Map.entry("api1", NET + ".11"),
            Map.entry("api2", NET + ".12"),
            Map.entry("api3", NET + ".13"),
            Map.entry("worker1", NET + ".21"),
            Map.entry("worker2", NET + ".22"));
    private static final Duration UP_DEADLINE = Duration.ofMinutes(20);
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(Fleet.class);
    /** HTTP/1.1 only, as a load balancer's clients speak it (no h2c upgrade offered). */
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();

    private static final ObjectMapper JSON = new ObjectMapper();

    private static Running running;
    private static RuntimeException upFailure;

    /** Whatever `bin/cluster` printed, and how it ended. */
    record Result(int exitCode, String output) {}

    /** The one cluster of this run: its key, and whether it is ours to take down. */
    private static final class Running implements AutoCloseable {

        final String key;
        final boolean ours;
        private final AtomicBoolean down = new AtomicBoolean();
        private final Thread hook = new Thread(this::down, "fleet-down");

        Running(String key, boolean ours) {
            this.key = key;
            this.ours = ours;
        }

        /** After the last test class of the run: {@code bin/cluster down}, and nothing of the fleet left. */
        @Override
        public void close() {
            if (!ours) {
                return;
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
            Result result = down();
            if (result.exitCode() != 0) {
                throw new IllegalStateException(
                        "bin/cluster down failed (exit " + result.exitCode() + "): " + tail(result.output()));
            }
            List<String> left = leftOver();
            if (!left.isEmpty()) {
                throw new IllegalStateException("bin/cluster down left " + left);
            }
        }

        Result down() {
            if (!down.compareAndSet(false, true)) {
                return new Result(0, "");
            }
            keepLogs();
            return cluster(Duration.ofMinutes(5), "down");
        }
    }

    /**
     * Before {@code bin/cluster down} removes them: each host's logs (pg_autoctl's, Fortress's, PgBouncer's
     * follower) into target/fleet/logs/<host>/, so that a failed run can be read afterwards.
     */
    static void keepLogs() {
        Path into = LOG.getParent().resolve("logs");
        for (String host : HOSTS) {
            for (String name : List.of("pg_autoctl.log", "fortress.log", "bouncer-follow.log")) {
                Path log = STATE.resolve(host).resolve(name);
                if (Files.isRegularFile(log)) {
                    try {
                        Files.createDirectories(into.resolve(host));
                        Files.copy(
                                log,
                                into.resolve(host).resolve(name),
                                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    } catch (java.io.IOException e) {
                        System.err.println("[fleet] could not keep " + log + ": " + e);
                    }
                }
            }
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(Running.class, k -> up(), Running.class);
    }

    private static synchronized Running up() {
        if (running != null) {
            return running;
        }
        if (upFailure != null) {
            throw upFailure;
        }
        try {
            running = bringUp();
            return running;
        } catch (RuntimeException e) {
            upFailure = e;
            throw e;
        }
    }

    private static Running bringUp() {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException(
                    "the fleet tests run bin/cluster, which makes network namespaces: " + "run them as root (CI does)");
        }
        boolean reuse = Boolean.getBoolean("fleet.reuse");
        List<String> before = leftOver();
        if (!before.isEmpty() && !reuse) {
            throw new IllegalStateException("a fleet already runs on this machine (" + before + "): these tests "
                    + "bring up and take down their own. Stop it with `bin/cluster down`, or pass -Dfleet.reuse=true "
                    + "to run them against it and leave it up");
        }
        Running fleet = null;
        try {
            Result up = cluster(UP_DEADLINE, "up");
            if (up.exitCode() != 0) {
                throw new IllegalStateException(
                        "bin/cluster up failed (exit " + up.exitCode() + "): " + tail(up.output()));
            }
            Matcher key = Pattern.compile("(?m)^FORTRESS_KEY=(fk_\\S+)$").matcher(up.output());
            if (!key.find()) {
                throw new IllegalStateException("bin/cluster up printed no FORTRESS_KEY= line: " + tail(up.output()));
            }
            fleet = new Running(key.group(1), before.isEmpty());
            if (fleet.ours) {
                Runtime.getRuntime().addShutdownHook(fleet.hook);
            }
            return fleet;
        } catch (RuntimeException e) {
            if (before.isEmpty() && fleet == null) {
                keepLogs(); // why it did not come up
                cluster(Duration.ofMinutes(5), "down"); // what came up before the failure
            }
            throw e;
        }
    }

    /** The development key of organisation 7 (scopes read, write, import) that {@code bin/cluster up} printed. */
    static String key() {
        if (running == null) {
            throw new IllegalStateException("no fleet: the test class needs @ExtendWith(Fleet.class)");
        }
        return running.key;
    }

    static String address(String host) {
        String address = ADDRESSES.get(host);
        if (address == null) {
            throw new IllegalArgumentException("no host " + host);
        }
        return address;
    }

    /** The API through the load balancer, 127.0.0.1:8090, with the key. */
    static Http lb() {
        return new Http(CLIENT, LB, LB_PORT).as(key());
    }

    /** One API host's own address (10.77.0.11:8080 for api1), bypassing the load balancer, with the key. */
    static Http api(String host) {
        return new Http(CLIENT, address(host), APP_PORT).as(key());
    }

    static HttpClient client() {
        return CLIENT;
    }

    /** The database hosts, any of which may be the primary (pg_auto_failover decides). */
    static final List<String> DB_HOSTS = List.of("db1", "db2", "db3");

    /**
     * The fleet's database: whichever of db1-db3 is the primary when a connection is made, directly
     * (as the fortress role, from the bridge; pgjdbc's targetServerType=primary).
     */
    static Jdbi db() {
        String hosts = DB_HOSTS.stream().map(h -> address(h) + ":" + PG_PORT).collect(Collectors.joining(","));
        return jdbi(hosts, "targetServerType=primary&hostRecheckSeconds=1&connectTimeout=2");
    }

    /**
     * What pg_auto_failover's monitor did since {@code since}, as seconds after it: when it marked
     * {@code failed} unhealthy, when the last standby reported its LSN, and when {@code promoted}
     * reported {@code wait_primary} (takes writes). Read from its event table over the bridge as
     * autoctl_node, which bin/cluster lets in from the /24.
     */
    static String failoverTimeline(Instant since, String failed, String promoted) {
        Jdbi monitor = Jdbi.create(
                "jdbc:postgresql://" + address("monitor") + ":" + PG_PORT + "/pg_auto_failover?connectTimeout=2",
                "autoctl_node",
                "");
        List<Map<String, Object>> events = monitor.withHandle(h -> h.select(
                        "select nodename, reportedstate, goalstate, "
                                + "description, extract(epoch from eventtime) * 1000 as at from pgautofailover.event "
                                + "where eventtime >= to_timestamp(? / 1000.0) - interval '10 seconds' order by eventid",
                        since.toEpochMilli())
                .mapToMap()
                .list());
        java.util.function.Predicate<Map<String, Object>> unhealthy = e -> failed.equals(e.get("nodename"))
                && String.valueOf(e.get("description")).contains("marked as unhealthy");
        java.util.function.Predicate<Map<String, Object>> reported = e -> !failed.equals(e.get("nodename"))
                && "report_lsn".equals(e.get("reportedstate"))
                && "report_lsn".equals(e.get("goalstate"));
        java.util.function.Predicate<Map<String, Object>> writable =
                e -> promoted.equals(e.get("nodename")) && "wait_primary".equals(e.get("reportedstate"));
        return String.format(
                "monitor, after the kill: %s unhealthy %s, standbys' LSNs reported %s, %s wait_primary %s",
                failed,
                after(events, unhealthy, since, true),
                after(events, reported, since, false),
                promoted,
                after(events, writable, since, true));
    }

    private static String after(
            List<Map<String, Object>> events,
            java.util.function.Predicate<Map<String, Object>> which,
            Instant since,
            boolean first) {
        List<Double> at = events.stream()
                .filter(which)
                .map(e -> ((Number) e.get("at")).doubleValue())
                .toList();
        if (at.isEmpty()) {
            return "(no event)";
        }
        double ms = first ? at.get(0) : at.get(at.size() - 1);
        return String.format("+%.1f s", (ms - since.toEpochMilli()) / 1000.0);
    }

    /** {@code host}'s PostgreSQL directly, whatever its role now (as the fortress role, from the bridge). */
    static Jdbi db(String host) {
        return jdbi(address(host) + ":" + PG_PORT, "connectTimeout=2");
    }

    private static Jdbi jdbi(String hosts, String parameters) {
        return Jdbi.create(
                "jdbc:postgresql://" + hosts + "/" + env("FORTRESS_DB", "fortress") + "?" + parameters,
                env("DATABASE_USER", "fortress"),
                env("DATABASE_PASSWORD", "fortress"));
    }

    /**
     * Waits until {@code host}'s PostgreSQL is a streaming standby (`bin/cluster status`) and api1 reads
     * from it again (its reads counter for the host's PgBouncer moves); that reader's name, host:6432.
     */
    static String awaitStandbyServingReads(String host) {
        String replica = address(host) + ":6432";
        String reads = "fortress_db_replica_reads_total{replica=\"" + replica + "\",}";
        Await.await(
                host + " a streaming standby",
                Duration.ofMinutes(3),
                () -> clusterOk(Duration.ofSeconds(60), "status")
                        .lines()
                        .filter(l -> l.startsWith(host + " ") && l.contains(":" + PG_PORT))
                        .findFirst()
                        .orElse(""),
                line -> line.contains("pg-standby") && line.endsWith("ready"));
        double before = metric("api1", reads);
        Await.await(
                "api1 reads from " + host,
                Duration.ofMinutes(2),
                () -> {
                    api("api1").get("/users/" + SEED_USER);
                    return metric("api1", reads);
                },
                n -> n > before);
        return replica;
    }

    /** The database host that is the primary now (asked of the primary itself). */
    static String primary() {
        String address = db().withHandle(h ->
                h.select("select host(inet_server_addr())").mapTo(String.class).one());
        return DB_HOSTS.stream()
                .filter(h -> address(h).equals(address))
                .findFirst()
                .orElseThrow(
                        () -> new IllegalStateException("the primary's address " + address + " is no database host"));
    }

    /** The database hosts that are not {@code primary}, in {@link #DB_HOSTS}' order. */
    static List<String> standbys(String primary) {
        return DB_HOSTS.stream().filter(h -> !h.equals(primary)).toList();
    }

    /** A sample without labels from {@code host}'s Prometheus scrape (admin port), e.g. {@code fortress_imports_started_total}. */
    static double metric(String host, String name) {
        HttpResponse<String> scrape = new Http(CLIENT, address(host), ADMIN_PORT).get("/prometheus");
        if (scrape.statusCode() != 200) {
            throw new IllegalStateException(host + ": /prometheus answered " + scrape.statusCode());
        }
        return scrape.body()
                .lines()
                .filter(l -> l.startsWith(name + " "))
                .findFirst()
                .map(l -> Double.parseDouble(l.substring(name.length() + 1).trim()))
                .orElseThrow(() -> new IllegalStateException(host + ": no sample " + name + " in /prometheus"));
    }

    /**
     * A numeric field of HAProxy's statistics (its stats page as CSV) for one proxy and server, e.g.
     * {@code ("fortress_api", "BACKEND", "hrsp_5xx")}; an empty field is 0.
     */
    static long haproxyStat(String proxy, String server, String field) {
        String value = haproxyField(proxy, server, field);
        return value.isEmpty() ? 0 : Long.parseLong(value);
    }

    /** A field of HAProxy's statistics as it reads, e.g. {@code ("fortress_api", "api2", "status")}: "UP", "DOWN", ... */
    static String haproxyField(String proxy, String server, String field) {
        HttpResponse<String> csv = new Http(CLIENT, LB, LB_STATS_PORT).get("/;csv");
        if (csv.statusCode() != 200) {
            throw new IllegalStateException("HAProxy's stats answered " + csv.statusCode());
        }
        List<String> lines = csv.body().lines().toList();
        List<String> header = List.of(lines.get(0).replaceFirst("^# ", "").split(",", -1));
        int column = header.indexOf(field);
        if (column < 0) {
            throw new IllegalStateException("HAProxy's stats have no field " + field);
        }
        for (String line : lines.subList(1, lines.size())) {
            String[] values = line.split(",", -1);
            if (values.length > column && values[0].equals(proxy) && values[1].equals(server)) {
                return values[column];
            }
        }
        throw new IllegalStateException("HAProxy's stats have no row " + proxy + "/" + server);
    }

    /** The pid of the Fortress JVM in {@code host}'s namespace, if one runs. */
    static OptionalLong javaPid(String host) {
        Result pids = run(Duration.ofSeconds(30), List.of("ip", "netns", "pids", host), false);
        for (String pid : pids.output().split("\\s+")) {
            if (pid.isBlank()) {
                continue;
            }
            try {
                if (Files.readString(Path.of("/proc", pid, "comm")).strip().equals("java")) {
                    return OptionalLong.of(Long.parseLong(pid));
                }
            } catch (IOException gone) {
                // exited meanwhile
            }
        }
        return OptionalLong.empty();
    }

    /** {@code bin/cluster <args>}, to its end or {@code deadline}; its output is also appended to target/fleet/cluster.log. */
    static Result cluster(Duration deadline, String... args) {
        List<String> command = new ArrayList<>();
        command.add(REPO.resolve("bin/cluster").toString());
        command.addAll(List.of(args));
        return run(deadline, command, true);
    }

    /** {@code bin/cluster <args>} that must succeed. */
    static String clusterOk(Duration deadline, String... args) {
        Result result = cluster(deadline, args);
        if (result.exitCode() != 0) {
            throw new AssertionError("bin/cluster " + String.join(" ", args) + " failed (exit " + result.exitCode()
                    + "): " + tail(result.output()));
        }
        return result.output();
    }

    /**
     * Runs {@code command} with its output in a file (not a pipe: bin/cluster starts daemons, and one
     * that kept the pipe open would hold the reader). Past {@code deadline} the command is stopped
     * (what it started is left to {@code bin/cluster down}).
     */
    private static Result run(Duration deadline, List<String> command, boolean logged) {
        try {
            Path out = Files.createTempFile("fleet-", ".out");
            Instant started = Instant.now();
            try {
                Process process = new ProcessBuilder(command)
                        .directory(REPO.toFile())
                        .redirectErrorStream(true)
                        .redirectOutput(out.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(
                                Path.of("/dev/null").toFile()))
                        .start();
                boolean ended = process.waitFor(deadline.toSeconds(), TimeUnit.SECONDS);
                if (!ended) {
                    process.destroy();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
                String output = Files.readString(out, StandardCharsets.UTF_8);
                int exit = ended ? process.exitValue() : -1;
                if (logged) {
                    String text = String.format(
                            "%n%s $ %s%n%s[%s after %d s]%n",
                            started,
                            String.join(" ", command),
                            output,
                            ended ? "exit " + exit : "stopped: still running",
                            Duration.between(started, Instant.now()).toSeconds());
                    System.out.print(text);
                    Files.createDirectories(LOG.getParent());
                    Files.writeString(LOG, text, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                }
                return new Result(exit, output);
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** What of a fleet exists on this machine: its namespaces, its bridge, its state directory. */
    static List<String> leftOver() {
        List<String> left = new ArrayList<>();
        String namespaces = run(Duration.ofSeconds(30), List.of("ip", "netns", "list"), false)
                .output();
        for (String line : namespaces.lines().toList()) {
            String name = line.split("\\s+")[0];
            if (HOSTS.contains(name)) {
                left.add("namespace " + name);
            }
        }
        if (run(Duration.ofSeconds(30), List.of("ip", "link", "show", "fortress-br0"), false)
                        .exitCode()
                == 0) {
            left.add("bridge fortress-br0");
        }
        if (Files.exists(STATE)) {
            left.add(STATE.toString());
        }
        return left;
    }

    /** Prints a test's one summary line and appends it to target/fleet-summary.md. */
    static void summary(String test, String line) {
        String text = "FLEET " + test + ": " + line;
        System.out.println(text);
        try {
            Files.createDirectories(SUMMARY.getParent());
            if (!Files.exists(SUMMARY)) {
                Files.writeString(SUMMARY, "| test | what it saw |\n|---|---|\n", StandardOpenOption.CREATE);
            }
            Files.writeString(SUMMARY, "| " + test + " | " + line + " |\n", StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Map<String, Object> json(String body) {
        try {
            return JSON.readValue(body, new TypeReference<>() {});
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + body, e);
        }
    }

    static Optional<String> header(HttpResponse<?> response, String name) {
        return response.headers().firstValue(name);
    }

    private static String tail(String output) {
        List<String> lines = output.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static String env(String name, String otherwise) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? otherwise : value;
    }
}
