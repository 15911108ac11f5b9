package dev.fortress.auth;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/**
 * What an instance reads of the keys, on a replica (lag-aware) or the writer: the look-up behind a
 * request's key ({@link JdbcApiKeyReadDao} runs it on plain JDBC) and the keys revoked lately.
 */
@RegisterRowMapper(ApiKeyReadDao.CallerMapper.class)
public interface ApiKeyReadDao {

    /** {@link #find}'s one text, for this SQL object and for {@link JdbcApiKeyReadDao}. */
    String FIND = "select id, org_id, prefix, scopes, expires_at, requests_per_second from api_keys "
            + "where hash = :hash and revoked_at is null and (expires_at is null or expires_at > now())";

    /**
     * The caller whose key hashes to {@code hash}, if that key is neither revoked nor expired. An
     * unknown, a revoked and an expired key are the same miss of the same index scan: the same
     * answer at the same cost.
     */
    @SqlQuery(FIND)
    Optional<Caller> find(@Bind("hash") byte[] hash);

    /**
     * The ids of the keys revoked in the last {@code seconds} (index api_keys_revoked_at_idx): what
     * each instance asks every {@code auth.revocationCheckInterval}, to drop them from its cache.
     */
    @SqlQuery("select id from api_keys where revoked_at > now() - make_interval(secs => :seconds)")
    List<Long> revokedWithin(@Bind("seconds") double seconds);

    final class CallerMapper implements RowMapper<Caller> {
        @Override
        public Caller map(ResultSet rs, StatementContext ctx) throws SQLException {
            String[] scopes = (String[]) rs.getArray(4).getArray();
            Timestamp expires = rs.getTimestamp(5);
            double rate = rs.getDouble(6); // 0 when null: the default rate
            return new Caller(
                    rs.getLong(1),
                    rs.getLong(2),
                    Set.copyOf(List.of(scopes)),
                    rs.getString(3),
                    expires == null ? null : expires.toInstant(),
                    rate);
        }
    }
}
