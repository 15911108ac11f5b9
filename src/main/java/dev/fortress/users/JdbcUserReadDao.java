package dev.fortress.users;

import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import dev.fortress.db.TimedJdbc;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * {@link UserReadDao} with its hot statement, {@code findById} (GET /users/{id}), on plain JDBC.
 * Measured reason: JDBI's on-demand SQL object attaches a new proxy, handler map and configuration
 * copy, then a new handle, query and result stream, on every call: 43% of the route's CPU samples
 * were in that call and only 24% in the driver; on plain JDBC the route's server CPU per request
 * fell from 0.100 to 0.047 ms (bench/results/2026-12-01-cost.md). The same SQL text
 * ({@link UserReadDao#FIND_BY_ID}), pool and row mapper, run by {@link TimedJdbc} (its timer
 * {@code UserReadDao.findById}, JDBI's exception types). Every other method is the SQL object's.
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
        return TimedJdbc.query(
                pool,
                metrics,
                FIND_BY_ID_NAME,
                FIND_BY_ID_JDBC,
                st -> st.setLong(1, id),
                rows -> rows.next() ? Optional.of(MAPPER.map(rows, null)) : Optional.empty());
    }

    @Override
    public List<Long> sampleIds(long orgId, int limit) {
        return sqlObject.sampleIds(orgId, limit);
    }

    @Override
    public Optional<Long> otherOrgsUser(long orgId) {
        return sqlObject.otherOrgsUser(orgId);
    }

    @Override
    public Optional<Long> anyOrg() {
        return sqlObject.anyOrg();
    }
}
