package dev.fortress.auth;

import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import dev.fortress.db.TimedJdbc;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * {@link ApiKeyReadDao} with the look-up of a key not in the cache, {@code find}, on plain JDBC, as
 * {@code JdbcUserReadDao} runs GET /users/{id}. Measured reason: as an on-demand SQL-object call
 * (JDBI) it was 49% of the CPU samples of a 401 for an unknown key; on plain JDBC the look-up is
 * 36-43%, about what the user read is in a 200 (bench/results/2026-12-05-auth-profile.md). The same SQL text
 * ({@link ApiKeyReadDao#FIND}), run by {@link TimedJdbc} under its name {@code ApiKeyReadDao.find}.
 */
final class JdbcApiKeyReadDao implements ApiKeyReadDao {

    private static final String FIND_JDBC = FIND.replace(":hash", "?");
    private static final String FIND_NAME = "ApiKeyReadDao.find";
    private static final CallerMapper MAPPER = new CallerMapper();

    private final DataSource pool;
    private final StatementMetrics metrics;
    private final ApiKeyReadDao sqlObject;

    JdbcApiKeyReadDao(Databases.Source source) {
        this.pool = source.pool();
        this.metrics = source.metrics();
        this.sqlObject = source.jdbi().onDemand(ApiKeyReadDao.class);
    }

    @Override
    public Optional<Caller> find(byte[] hash) {
        return TimedJdbc.query(
                pool,
                metrics,
                FIND_NAME,
                FIND_JDBC,
                st -> st.setBytes(1, hash),
                rows -> rows.next() ? Optional.of(MAPPER.map(rows, null)) : Optional.empty());
    }

    @Override
    public List<Long> revokedWithin(double seconds) {
        return sqlObject.revokedWithin(seconds);
    }
}
