package dev.fortress.users;

import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * {@link UserReadDao} with its hot statement, {@code findById} (GET /users/{id}), on plain JDBC.
 * Measured reason: JDBI's on-demand SQL object attaches a new proxy, handler map and configuration
 * copy, then a new handle, query and result stream, on every call: 43% of the route's CPU samples
 * were in that call and only 24% in the driver; on plain JDBC the route's server CPU per request
 * fell from 0.100 to 0.047 ms (bench/results/2026-12-01-cost.md). Everything the SQL object gave the statement is kept: the same SQL text
 * ({@link UserReadDao#FIND_BY_ID}), the same timed pool, a server-side prepared statement
 * (pgjdbc's per-connection statement cache, see prepareThreshold), the same row mapper, its
 * timer and slow-statement log ({@link StatementMetrics}, {@code UserReadDao.findById}), and
 * JDBI's exception types, so {@code DatabaseExceptionMapper} and the reader-to-writer fallback in
 * {@code Reads} see what they saw. Every other method is the SQL object's.
 */
final class JdbcUserReadDao implements UserReadDao {

    private static final String FIND_BY_ID_JDBC = FIND_BY_ID.replace(":id", "?");
    private static final String FIND_BY_ID_NAME = "UserReadDao.findById";
    private static final UserMapper MAPPER = new UserMapper();

    private final DataSource pool;
    private final StatementMetrics metrics;
    private final UserReadDao sqlObject;

    JdbcUserReadDao(Databases.Source source) {
        this.pool = source.pool();
        this.metrics = source.metrics();
        this.sqlObject = source.jdbi().onDemand(UserReadDao.class);
    }

    @Override
    public Optional<User> findById(long id) {
        Connection connection;
        try {
            connection = pool.getConnection();
        } catch (SQLException e) {
            throw new ConnectionException(e);
        }
        try (connection; PreparedStatement statement = connection.prepareStatement(FIND_BY_ID_JDBC)) {
            statement.setLong(1, id);
            long started = System.nanoTime();
            ResultSet result;
            try {
                result = statement.executeQuery();
            } finally { // as JDBI times it: the execution, failed or not
                metrics.record(FIND_BY_ID_NAME, System.nanoTime() - started);
            }
            try (ResultSet rows = result) {
                return rows.next() ? Optional.of(MAPPER.map(rows, null)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new UnableToExecuteStatementException(e, null);
        }
    }

    @Override
    public List<Long> sampleIds(int limit) {
        return sqlObject.sampleIds(limit);
    }
}
