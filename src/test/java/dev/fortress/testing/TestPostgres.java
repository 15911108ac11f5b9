package dev.fortress.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Finds the PostgreSQL server tests run against, once per JVM: {@code TEST_DATABASE_URL} if set,
 * else the local server on 127.0.0.1:5432 if it answers, else a Testcontainers PostgreSQL if a
 * Docker engine is present, else a failure that says what to do.
 */
final class TestPostgres {

    /** Where to connect and as whom; {@code adminDatabase} is where CREATE DATABASE runs. */
    record Server(String host, int port, String user, String password, String adminDatabase) {
        String url(String database) {
            return "jdbc:postgresql://" + host + ":" + port + "/" + database;
        }

        Connection connect(String database) throws SQLException {
            Properties props = new Properties();
            props.setProperty("user", user);
            props.setProperty("password", password);
            props.setProperty("connectTimeout", "3");
            props.setProperty("ApplicationName", "fortress-tests");
            return DriverManager.getConnection(url(database), props);
        }
    }

    private static Server server;

    private TestPostgres() {}

    static synchronized Server server() {
        if (server == null) {
            server = resolve();
        }
        return server;
    }

    private static Server resolve() {
        String user = env("TEST_DATABASE_USER", env("DATABASE_USER", "fortress"));
        String password = env("TEST_DATABASE_PASSWORD", env("DATABASE_PASSWORD", "fortress"));
        String explicit = System.getenv("TEST_DATABASE_URL");
        if (explicit != null && !explicit.isBlank()) {
            Server s = fromUrl(explicit, user, password);
            check(s, "TEST_DATABASE_URL=" + explicit);
            return s;
        }
        Server local = new Server("127.0.0.1", 5432, user, password, "postgres");
        SQLException localFailure;
        try (Connection ignored = local.connect(local.adminDatabase())) {
            return local;
        } catch (SQLException e) {
            localFailure = e;
        }
        if (dockerAvailable()) {
            return Containers.start();
        }
        throw new IllegalStateException("No PostgreSQL for the tests: TEST_DATABASE_URL is not set, "
                + "127.0.0.1:5432 did not accept user '" + user + "' (" + localFailure.getMessage()
                + "), and no Docker engine is available for Testcontainers. Run `bin/services up` "
                + "(it starts PostgreSQL and creates the fortress role), or set TEST_DATABASE_URL.");
    }

    /** {@code jdbc:postgresql://host:port/db} names the server; credentials come from the environment. */
    private static Server fromUrl(String url, String user, String password) {
        java.net.URI uri = java.net.URI.create(url.replaceFirst("^jdbc:", ""));
        String path = uri.getPath() == null || uri.getPath().length() <= 1 ? "/postgres" : uri.getPath();
        return new Server(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), user, password, path.substring(1));
    }

    private static void check(Server s, String source) {
        try (Connection ignored = s.connect(s.adminDatabase())) {
            // answers
        } catch (SQLException e) {
            throw new IllegalStateException(
                    "Cannot connect to the test database from " + source + ": " + e.getMessage(), e);
        }
    }

    private static boolean dockerAvailable() {
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }

    /** Kept apart so Testcontainers classes load only when a Docker engine is there. */
    private static final class Containers {
        static Server start() {
            var container = new org.testcontainers.containers.PostgreSQLContainer<>("postgres:15-alpine");
            container.start();
            return new Server(
                    container.getHost(),
                    container.getMappedPort(5432),
                    container.getUsername(),
                    container.getPassword(),
                    container.getDatabaseName());
        }
    }
}
