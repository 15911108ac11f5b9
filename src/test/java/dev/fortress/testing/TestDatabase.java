package dev.fortress.testing;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.FortressApplication;
import dev.fortress.db.StatementMetrics;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import liquibase.Contexts;
import liquibase.LabelExpression;
import liquibase.Liquibase;
import liquibase.database.Database;
import liquibase.database.DatabaseFactory;
import liquibase.database.jvm.JdbcConnection;
import liquibase.resource.ClassLoaderResourceAccessor;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/**
 * A throwaway database, migrated with the real Liquibase changelog, dropped when the JVM ends.
 * Tests never touch the {@code fortress} development database.
 */
public final class TestDatabase {

    private final TestPostgres.Server server;
    private final String name;

    private TestDatabase(TestPostgres.Server server, String name) {
        this.server = server;
        this.name = name;
    }

    /** A new, migrated database of its own. */
    public static TestDatabase create() {
        TestDatabase db = empty();
        db.migrate();
        return db;
    }

    /**
     * A new database with only the first {@code changeSets} changesets of the changelog applied,
     * for tests of a migration on existing data; {@link #migrate()} applies the rest.
     */
    public static TestDatabase createWithFirst(int changeSets) {
        TestDatabase db = empty();
        db.update(changeSets);
        return db;
    }

    private static TestDatabase empty() {
        TestPostgres.Server server = TestPostgres.server();
        String name = "fortress_test_"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        try (Connection admin = server.connect(server.adminDatabase());
                Statement st = admin.createStatement()) {
            st.execute("create database " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create test database " + name + ": " + e.getMessage(), e);
        }
        TestDatabase db = new TestDatabase(server, name);
        Runtime.getRuntime().addShutdownHook(new Thread(db::drop, "drop-" + name));
        return db;
    }

    public String name() {
        return name;
    }

    public String host() {
        return server.host();
    }

    public int port() {
        return server.port();
    }

    public String url() {
        return server.url(name);
    }

    public String user() {
        return server.user();
    }

    public String password() {
        return server.password();
    }

    /**
     * A JDBI of the test's own on this database, with extra driver properties (e.g. prepareThreshold)
     * and SQL objects, as the application's: its statements never reach the application's timers.
     */
    public Jdbi jdbi(Properties driverProperties) {
        Properties props = new Properties();
        props.putAll(driverProperties);
        props.setProperty("user", user());
        props.setProperty("password", password());
        // SQL objects, and statement metrics (a registry of its own) for what JDBI does not run (COPY);
        // not JDBI's SQL logger, which would warn of each statement a test runs outside an SQL object.
        Jdbi jdbi = Jdbi.create(url(), props).installPlugin(new SqlObjectPlugin());
        jdbi.getConfig(StatementMetrics.Config.class)
                .set(new StatementMetrics(new MetricRegistry(), "test", java.time.Duration.ofSeconds(1)));
        return jdbi;
    }

    public Jdbi jdbi() {
        return jdbi(new Properties());
    }

    /** Inserts a user (org 1, as an admin of 40) and returns its id: a row that writes can refer to. */
    public long aUser(String email) {
        return jdbi().withHandle(h -> h.createQuery("insert into users (email, role, org_id, age) "
                        + "values (:email, 'admin', 1, 40) returning id")
                .bind("email", email)
                .mapTo(Long.class)
                .one());
    }

    /**
     * Sessions on this database waiting for a lock, whose query is like {@code queryLike} (SQL
     * {@code LIKE}; {@code "%"}: any). Asked on a connection of its own: a transaction keeps the view
     * of pg_stat_activity it took first.
     */
    public long sessionsWaitingOnLock(String queryLike) {
        return jdbi().withHandle(h -> h.createQuery("select count(*) from pg_stat_activity where datname = "
                        + "current_database() and wait_event_type = 'Lock' and query like :queryLike")
                .bind("queryLike", queryLike)
                .mapTo(Long.class)
                .one());
    }

    /**
     * A tomcat-jdbc pool (the application's kind) of at most {@code size} connections on {@code url}:
     * this database's, with driver parameters if a test needs them. Close it when done.
     */
    public org.apache.tomcat.jdbc.pool.DataSource pool(String url, int size) {
        org.apache.tomcat.jdbc.pool.PoolProperties p = new org.apache.tomcat.jdbc.pool.PoolProperties();
        p.setUrl(url);
        p.setUsername(user());
        p.setPassword(password());
        p.setDriverClassName("org.postgresql.Driver");
        p.setInitialSize(0);
        p.setMaxActive(size);
        p.setMaxIdle(size);
        p.setMaxWait(10_000);
        return new org.apache.tomcat.jdbc.pool.DataSource(p);
    }

    /** An unpooled DataSource on this database, for code that runs plain JDBC. */
    public javax.sql.DataSource dataSource() {
        org.postgresql.ds.PGSimpleDataSource source = new org.postgresql.ds.PGSimpleDataSource();
        source.setUrl(url());
        source.setUser(user());
        source.setPassword(password());
        return source;
    }

    /**
     * Sets a default of the test's role in this database, as changeset 15 sets statement_timeout and
     * idle_in_transaction_session_timeout, for the sessions opened from now on (so: before the app
     * starts). For a test that holds a lock longer than those guards allow on purpose.
     */
    public TestDatabase withRoleDefault(String parameter, String value) {
        if (!parameter.matches("[a-z_]+") || !value.matches("[0-9a-z]+")) {
            throw new IllegalArgumentException(parameter + " = " + value);
        }
        try (Connection c = server.connect(name);
                Statement st = c.createStatement()) {
            st.execute(
                    "alter role \"" + user() + "\" in database " + name + " set " + parameter + " = '" + value + "'");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot set " + parameter + " for " + name + ": " + e.getMessage(), e);
        }
        return this;
    }

    /** Applies every changeset not applied yet. */
    public void migrate() {
        update(Integer.MAX_VALUE);
    }

    @SuppressWarnings("deprecation") // the Liquibase facade is the shortest way to run a changelog
    private void update(int changeSets) {
        try (Connection c = server.connect(name)) {
            Database database = DatabaseFactory.getInstance().findCorrectDatabaseImplementation(new JdbcConnection(c));
            Liquibase liquibase =
                    new Liquibase(FortressApplication.CHANGELOG, new ClassLoaderResourceAccessor(), database);
            if (changeSets == Integer.MAX_VALUE) {
                liquibase.update(new Contexts(), new LabelExpression());
            } else {
                liquibase.update(changeSets, new Contexts(), new LabelExpression());
            }
        } catch (Exception e) {
            throw new IllegalStateException("migrating " + name + " failed: " + e.getMessage(), e);
        }
    }

    private void drop() {
        try (Connection admin = server.connect(server.adminDatabase());
                Statement st = admin.createStatement()) {
            st.execute("drop database if exists " + name + " with (force)");
        } catch (SQLException e) {
            System.err.println("could not drop test database " + name + ": " + e.getMessage());
        }
    }
}
