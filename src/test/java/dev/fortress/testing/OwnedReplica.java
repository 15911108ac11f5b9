package dev.fortress.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.locks.LockSupport;

/**
 * A streaming replica of the test server of the test's own: a fresh {@code pg_basebackup} of the
 * primary (as the replication role {@code bin/services} creates) in a private directory, run by
 * {@code pg_ctl} on a free port, so a fault test can stop and start a real standby without
 * touching the shared one on 5433 that other tests use. The primary's cluster is small in tests
 * (tens of MB), so the copy takes about a second.
 */
public final class OwnedReplica implements AutoCloseable {

    /** Settings a hot standby may not have lower than its primary (it refuses to start). */
    private static final List<String> COPIED = List.of(
            "max_connections",
            "max_prepared_transactions",
            "max_locks_per_transaction",
            "max_worker_processes",
            "max_wal_senders");

    private final TestDatabase db;
    private final int port = OwnedProcesses.freePort();
    private final Path dir = OwnedProcesses.directory("fault-replica-");
    private final Path data = dir.resolve("data");
    private final Path log = dir.resolve("postgres.log");
    private final Path toolLog = dir.resolve("tools.log");
    private final Path bin;

    private OwnedReplica(TestDatabase db, Path bin) {
        this.db = db;
        this.bin = bin;
    }

    /** A new standby of {@code db}'s server, started, streaming, with {@code db}'s schema. */
    public static OwnedReplica of(TestDatabase db) {
        Map<String, String> settings = primarySettings(db);
        Path bin = Path.of("/usr/lib/postgresql", settings.get("major"), "bin");
        if (!Files.isExecutable(bin.resolve("pg_basebackup"))) {
            throw new IllegalStateException(bin + "/pg_basebackup is missing: the fault suite runs the primary's "
                    + "own PostgreSQL version locally (bin/services up installs it)");
        }
        OwnedReplica replica = new OwnedReplica(db, bin);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            replica.stopQuietly("immediate");
                            OwnedProcesses.deleteQuietly(replica.dir);
                        },
                        "stop-replica-" + replica.port));
        replica.create(settings);
        replica.start();
        replica.awaitStreaming(Duration.ofSeconds(30));
        return replica;
    }

    public int port() {
        return port;
    }

    /** {@code host:port}, as the replica's metrics name it. */
    public String name() {
        return "127.0.0.1:" + port;
    }

    /** Runs a statement on the standby, e.g. {@code select pg_wal_replay_pause()}. */
    public void execute(String sql) {
        try (Connection c = connect();
                Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + " on the owned replica failed: " + e.getMessage(), e);
        }
    }

    /** The test database on this standby. */
    public String url() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + db.name();
    }

    /** Starts the standby (again) and returns once it accepts connections. */
    public void start() {
        OwnedProcesses.run(
                OwnedProcesses.asPostgres(List.of(
                        bin.resolve("pg_ctl").toString(),
                        "start",
                        "-w",
                        "-t",
                        "30",
                        "-D",
                        data.toString(),
                        "-l",
                        log.toString())),
                Duration.ofSeconds(40),
                toolLog);
    }

    /**
     * Stops it the way an operator does ({@code pg_ctl stop -m fast}): sessions are terminated
     * (57P01), new connections refused, then the port closes. Returns once it is down.
     */
    public void stop() {
        OwnedProcesses.run(
                OwnedProcesses.asPostgres(List.of(
                        bin.resolve("pg_ctl").toString(),
                        "stop",
                        "-w",
                        "-t",
                        "30",
                        "-m",
                        "fast",
                        "-D",
                        data.toString())),
                Duration.ofSeconds(40),
                toolLog);
    }

    /** Waits until the standby streams WAL from the primary and has replayed {@code db}'s schema. */
    public void awaitStreaming(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "not tried";
        while (System.nanoTime() < deadline) {
            try (Connection c = connect();
                    Statement st = c.createStatement();
                    // pg_stat_wal_receiver shows its status only to privileged roles; the receive position
                    // is NULL from a start until WAL arrives by streaming.
                    ResultSet rs = st.executeQuery("select pg_is_in_recovery(), "
                            + "pg_last_wal_receive_lsn() is not null, to_regclass('users') is not null")) {
                rs.next();
                if (rs.getBoolean(1) && rs.getBoolean(2) && rs.getBoolean(3)) {
                    return;
                }
                last = "recovery=" + rs.getBoolean(1) + ", streamed=" + rs.getBoolean(2) + ", schema="
                        + rs.getBoolean(3);
            } catch (SQLException e) {
                last = e.getMessage();
            }
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
        throw new IllegalStateException("owned replica on " + port + " does not stream after " + timeout.toSeconds()
                + " s (" + last + "); log: " + OwnedProcesses.tail(log));
    }

    /** Stops it and deletes its copy of the cluster (tens of MB) at once, not only when the JVM ends. */
    @Override
    public void close() {
        stopQuietly("fast");
        OwnedProcesses.deleteQuietly(dir);
    }

    private Connection connect() throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", db.user());
        props.setProperty("password", db.password());
        props.setProperty("connectTimeout", "2");
        return DriverManager.getConnection(url(), props);
    }

    private void create(Map<String, String> settings) {
        String password = System.getenv().getOrDefault("REPLICATION_PASSWORD", "fortress");
        ProcessBuilder backup = OwnedProcesses.asPostgres(List.of(
                bin.resolve("pg_basebackup").toString(),
                "-h",
                db.host(),
                "-p",
                String.valueOf(db.port()),
                "-U",
                "fortress_replicator",
                "-D",
                data.toString(),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast"));
        backup.environment().put("PGPASSWORD", password);
        try {
            OwnedProcesses.run(backup, Duration.ofSeconds(120), toolLog);
        } catch (IllegalStateException e) {
            throw new IllegalStateException(
                    "pg_basebackup of the test server failed; `bin/services up` creates the "
                            + "fortress_replicator role and its pg_hba line. " + e.getMessage(),
                    e);
        }
        StringBuilder conf = new StringBuilder("# written by OwnedReplica (fault tests)\n")
                .append("listen_addresses = '127.0.0.1'\n")
                .append("port = ")
                .append(port)
                .append('\n')
                .append("unix_socket_directories = '")
                .append(dir)
                .append("'\n")
                .append("hot_standby = on\n")
                .append("hot_standby_feedback = on\n")
                .append("shared_buffers = 16MB\n")
                .append("fsync = off\n"); // a throwaway copy: speed over durability
        COPIED.forEach(name ->
                conf.append(name).append(" = ").append(settings.get(name)).append('\n'));
        try {
            Path postgresqlConf = data.resolve("postgresql.conf");
            Path hba = data.resolve("pg_hba.conf");
            Path ident = data.resolve("pg_ident.conf");
            Files.writeString(postgresqlConf, conf);
            Files.writeString(hba, "host all all 127.0.0.1/32 scram-sha-256\n");
            Files.writeString(ident, "");
            for (Path file : List.of(postgresqlConf, hba, ident)) {
                OwnedProcesses.chownToPostgres(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void stopQuietly(String mode) {
        if (!Files.exists(data.resolve("postmaster.pid"))) {
            return;
        }
        try {
            OwnedProcesses.run(
                    OwnedProcesses.asPostgres(
                            List.of(bin.resolve("pg_ctl").toString(), "stop", "-w", "-m", mode, "-D", data.toString())),
                    Duration.ofSeconds(30),
                    toolLog);
        } catch (RuntimeException e) {
            System.err.println("could not stop the owned replica on " + port + ": " + e.getMessage());
        }
    }

    private static Map<String, String> primarySettings(TestDatabase db) {
        Map<String, String> settings = new LinkedHashMap<>();
        try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("select name, setting from pg_settings where name = any (array['"
                        + String.join("','", COPIED) + "']) union all "
                        + "select 'major', cast(current_setting('server_version_num')::int / 10000 as text)")) {
            while (rs.next()) {
                settings.put(rs.getString(1), rs.getString(2));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the primary's settings: " + e.getMessage(), e);
        }
        return settings;
    }
}
