package dev.fortress.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A PgBouncer of the test's own, from the committed {@code deploy/pgbouncer.ini} rendered the way
 * {@code bin/services} renders it (transaction pooling, SCRAM with a plain-text userlist, every
 * database passed through to the primary), on a free port in a private directory, run in the
 * foreground as a child process so the test can stop it and start it again on the same port.
 */
public final class OwnedPgBouncer implements AutoCloseable {

    private static final Path BINARY = Path.of("/usr/sbin/pgbouncer");
    private static final Path TEMPLATE = Path.of("deploy", "pgbouncer.ini");
    /** Names the database {@link #failLogins} sends PgBouncer to: the test database's name after it. */
    private static final String MISSING_PREFIX = "missing_";

    private final int port = OwnedProcesses.freePort();
    private final Path dir = OwnedProcesses.directory("fault-pgbouncer-");
    private final Path config = dir.resolve("pgbouncer.ini");
    private final Path log = dir.resolve("stdout.log");
    private final TestDatabase db;
    private Process process;

    /** Started at once, in front of {@code db}'s server; stopped and deleted when the JVM ends. */
    public OwnedPgBouncer(TestDatabase db) {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException(BINARY + " is missing: run `bin/services up`, which installs PgBouncer");
        }
        this.db = db;
        render(db.port());
        try {
            Path users = dir.resolve("userlist.txt");
            Files.writeString(users, quote(db.user()) + " " + quote(db.password()) + "\n");
            Files.setPosixFilePermissions(users, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            OwnedProcesses.chownToPostgres(users);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            close();
                            OwnedProcesses.deleteQuietly(dir);
                        },
                        "stop-pgbouncer-" + port));
        start();
    }

    /** The config with {@code db}'s databases on the server at {@code serverPort} of its host. */
    private void render(int serverPort) {
        render(serverPort, db.name());
    }

    /**
     * From now on PgBouncer logs in to a database the server does not have (the clients' name for it
     * unchanged), so each of its logins to the server fails, as they fail while a demoted primary
     * restarts as a standby; reloaded as {@link #retarget} is.
     */
    public synchronized void failLogins() {
        render(db.port(), MISSING_PREFIX + db.name());
        reload();
    }

    /** Waits until PgBouncer has logged a failed login to the server ({@link #failLogins}). */
    public void awaitFailedLogin() {
        Await.await(
                "pgbouncer logs a login to the missing database failing",
                Duration.ofSeconds(20),
                () -> logLines().stream()
                        .anyMatch(line -> line.contains(MISSING_PREFIX) && line.contains("does not exist")),
                found -> found);
    }

    private void render(int serverPort, String serverDatabase) {
        try {
            // The database PgBouncer logs in to; clients still name it @DB_NAME@.
            String ini = Files.readString(TEMPLATE).replace("dbname=@DB_NAME@", "dbname=" + serverDatabase);
            for (Map.Entry<String, String> placeholder : Map.of(
                            "@BOUNCER_DIR@", dir.toString(),
                            "@BOUNCER_PORT@", String.valueOf(port),
                            "@PG_HOST@", db.host(),
                            "@PG_PORT@", String.valueOf(serverPort),
                            "@REPLICA_PORT@", String.valueOf(serverPort),
                            "@DB_NAME@", db.name(),
                            "@DB_USER@", db.user())
                    .entrySet()) {
                ini = ini.replace(placeholder.getKey(), placeholder.getValue());
            }
            if (ini.matches("(?s).*@[A-Z_]+@.*")) {
                throw new IllegalStateException(TEMPLATE + " has a placeholder this test does not know");
            }
            Files.writeString(config, ini);
            OwnedProcesses.chownToPostgres(config);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends every database to the server at {@code serverPort} of the test server's host (a replica,
     * say) from now on, as an operator's edit of the file and a reload (SIGHUP) would: the client
     * connections stay open, and PgBouncer closes its server connections to the old server as they
     * are released. Returns once PgBouncer has logged the reload.
     */
    public synchronized void retarget(int serverPort) {
        render(serverPort);
        reload();
    }

    private void reload() {
        long reloads = reloads();
        OwnedProcesses.run(
                new ProcessBuilder("kill", "-HUP", String.valueOf(process.pid())), Duration.ofSeconds(10), log);
        Await.await("pgbouncer logs its reload", Duration.ofSeconds(10), this::reloads, n -> n > reloads);
    }

    /** The reloads PgBouncer has logged so far. */
    private long reloads() {
        return logLines().stream().filter(line -> line.contains("got SIGHUP")).count();
    }

    private List<String> logLines() {
        Path pgbouncerLog = dir.resolve("pgbouncer.log");
        try {
            return Files.exists(pgbouncerLog) ? Files.readAllLines(pgbouncerLog) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return port;
    }

    /** {@code database} on the primary, through this PgBouncer. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** Starts it (again) on the same port and returns once it accepts connections. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        List<String> command = new ArrayList<>(List.of(BINARY.toString()));
        if (OwnedProcesses.root()) {
            command.addAll(List.of("-u", OwnedProcesses.POSTGRES_USER)); // it refuses to run as root
        }
        command.add(config.toString());
        process = OwnedProcesses.start(new ProcessBuilder(command).directory(dir.toFile()), log);
        OwnedProcesses.awaitPort(port, Duration.ofSeconds(10), "pgbouncer", dir.resolve("pgbouncer.log"));
    }

    /**
     * Stops it with SIGTERM, PgBouncer's immediate shutdown: every client and server connection
     * is closed at once, as in a restart by an orchestrator. Returns once the process has exited.
     */
    public synchronized void stop() {
        OwnedProcesses.terminate(process, Duration.ofSeconds(10));
    }

    @Override
    public void close() {
        stop();
    }

    private static String quote(String value) {
        return "\"" + value.replace("\"", "\"\"") + "\"";
    }
}
