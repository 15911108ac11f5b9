package dev.fortress.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * A statement on plain JDBC run as a named SQL-object statement runs: a server-side prepared
 * statement (pgjdbc's per-connection cache), its execution timed under its name by
 * {@link StatementMetrics} (failed or not, as JDBI times it, so the timers and the slow-statement
 * log name it), and failures as JDBI's exception types, so {@code DatabaseExceptionMapper} and the
 * replica-to-writer fallback in {@code Reads} see what they see from JDBI. For the few statements
 * whose JDBI per-call cost was measured (each caller says where).
 */
public final class TimedJdbc {

    /** Sets a statement's parameters. */
    public interface Binder {
        void bind(PreparedStatement statement) throws SQLException;
    }

    /** Reads a query's result. */
    public interface Reader<T> {
        T read(ResultSet rows) throws SQLException;
    }

    private TimedJdbc() {}

    /** A query on a connection borrowed from {@code pool} and returned after it. */
    public static <T> T query(
            DataSource pool, StatementMetrics metrics, String name, String sql, Binder binder, Reader<T> reader) {
        Connection connection;
        try {
            connection = pool.getConnection();
        } catch (SQLException e) {
            throw new ConnectionException(e);
        }
        try (connection) {
            return query(connection, metrics, name, sql, binder, reader);
        } catch (SQLException e) { // closing it
            throw new UnableToExecuteStatementException(e, null);
        }
    }

    /** A query on {@code connection} (in whatever transaction it is in), which stays open. */
    public static <T> T query(
            Connection connection, StatementMetrics metrics, String name, String sql, Binder binder, Reader<T> reader) {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            binder.bind(statement);
            long started = System.nanoTime();
            ResultSet result;
            try {
                result = statement.executeQuery();
            } finally {
                record(metrics, name, started);
            }
            try (ResultSet rows = result) {
                return reader.read(rows);
            }
        } catch (SQLException e) {
            throw failed(metrics, e);
        }
    }

    /** An insert, update or delete on {@code connection}; the rows it changed. */
    public static int update(Connection connection, StatementMetrics metrics, String name, String sql, Binder binder) {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            binder.bind(statement);
            long started = System.nanoTime();
            try {
                return statement.executeUpdate();
            } finally {
                record(metrics, name, started);
            }
        } catch (SQLException e) {
            throw failed(metrics, e);
        }
    }

    /** The failure as JDBI's exception type, counted as JDBI's SQL logger counts it. */
    private static UnableToExecuteStatementException failed(StatementMetrics metrics, SQLException e) {
        metrics.failed(e);
        return new UnableToExecuteStatementException(e, null);
    }

    private static void record(StatementMetrics metrics, String name, long started) {
        metrics.record(name, System.nanoTime() - started);
    }
}
