package dev.fortress.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.locks.LockSupport;

/**
 * A streaming replica of the test server: the first ({@code TEST_REPLICA_URL} host:port, else
 * 127.0.0.1:5433) or the second (127.0.0.1:5434), as {@code bin/services up} makes them. Test databases created on the primary
 * appear on it by replication.
 */
public final class TestReplica {

    private final String host;
    private final int port;
    private final TestDatabase db;

    private TestReplica(String host, int port, TestDatabase db) {
        this.host = host;
        this.port = port;
        this.db = db;
    }

    /** The first replica's copy of {@code db}, once replication has brought its schema. */
    public static TestReplica of(TestDatabase db) {
        return at(System.getenv("TEST_REPLICA_URL"), "jdbc:postgresql://127.0.0.1:5433/", db);
    }

    /** The same on the second replica ({@code TEST_REPLICA2_URL}, else 127.0.0.1:5434, bin/services' replica2). */
    public static TestReplica second(TestDatabase db) {
        return at(System.getenv("TEST_REPLICA2_URL"), "jdbc:postgresql://127.0.0.1:5434/", db);
    }

    private static TestReplica at(String explicit, String fallback, TestDatabase db) {
        java.net.URI uri = java.net.URI.create(
                (explicit == null || explicit.isBlank() ? fallback : explicit).replaceFirst("^jdbc:", ""));
        TestReplica replica = new TestReplica(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), db);
        replica.awaitSchema();
        return replica;
    }

    /** {@code host:port}, as the replica's metrics name it. */
    public String name() {
        return host + ":" + port;
    }

    public int port() {
        return port;
    }

    public String url() {
        return "jdbc:postgresql://" + host + ":" + port + "/" + db.name();
    }

    public Connection connect() throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", db.user());
        props.setProperty("password", db.password());
        props.setProperty("connectTimeout", "3");
        return DriverManager.getConnection(url(), props);
    }

    /** Runs a statement on the replica, e.g. {@code select pg_wal_replay_pause()}. */
    public void execute(String sql) {
        try (Connection c = connect();
                Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + " on the replica failed: " + e.getMessage(), e);
        }
    }

    /**
     * Returns once the replica has replayed everything the primary had written when this was called (a
     * key just created, say), failing after 30 s: what {@code keys create} waits for before it prints.
     */
    public void awaitCaughtUp() {
        String target = db.jdbi()
                .withHandle(h -> h.createQuery("select pg_current_wal_lsn()::text")
                        .mapTo(String.class)
                        .one());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            try (Connection c = connect();
                    java.sql.PreparedStatement st =
                            c.prepareStatement("select pg_last_wal_replay_lsn() >= ?::pg_lsn")) {
                st.setString(1, target);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next() && rs.getBoolean(1)) {
                        return;
                    }
                }
                Thread.sleep(20);
            } catch (SQLException e) {
                throw new IllegalStateException("the replica " + name() + " could not be asked: " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("the replica " + name() + " did not replay " + target + " within 30 s");
    }

    private void awaitSchema() {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            try (Connection c = connect();
                    Statement st = c.createStatement();
                    ResultSet rs =
                            st.executeQuery("select pg_is_in_recovery(), to_regclass('transactions') is not null")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    throw new IllegalStateException(host + ":" + port + " is not a standby");
                }
                if (rs.getBoolean(2)) {
                    return;
                }
            } catch (SQLException e) {
                last = e;
            }
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
        throw new IllegalStateException("no streaming replica with " + db.name() + " at " + host + ":" + port
                + " after 30 s (" + (last == null ? "schema not replayed" : last.getMessage())
                + "). Run `bin/services up`, which starts the replica, or set TEST_REPLICA_URL.");
    }
}
