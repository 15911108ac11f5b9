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

    private final int port = OwnedProcesses.freePort();
    private final Path dir = OwnedProcesses.directory("fault-pgbouncer-");
    private final Path config = dir.resolve("pgbouncer.ini");
    private final Path log = dir.resolve("stdout.log");
    private Process process;

    /** Started at once, in front of {@code db}'s server; stopped and deleted when the JVM ends. */
    public OwnedPgBouncer(TestDatabase db) {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException(BINARY + " is missing: run `bin/services up`, which installs PgBouncer");
        }
        try {
            String ini = Files.readString(TEMPLATE);
            for (Map.Entry<String, String> placeholder : Map.of(
                            "@BOUNCER_DIR@", dir.toString(),
                            "@BOUNCER_PORT@", String.valueOf(port),
                            "@PG_HOST@", db.host(),
                            "@PG_PORT@", String.valueOf(db.port()),
                            "@REPLICA_PORT@", String.valueOf(db.port()),
                            "@DB_NAME@", db.name(),
                            "@DB_USER@", db.user())
                    .entrySet()) {
                ini = ini.replace(placeholder.getKey(), placeholder.getValue());
            }
            if (ini.matches("(?s).*@[A-Z_]+@.*")) {
                throw new IllegalStateException(TEMPLATE + " has a placeholder this test does not know");
            }
            Files.writeString(config, ini);
            Path users = dir.resolve("userlist.txt");
            Files.writeString(users, quote(db.user()) + " " + quote(db.password()) + "\n");
            Files.setPosixFilePermissions(users, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            OwnedProcesses.chownToPostgres(config);
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
