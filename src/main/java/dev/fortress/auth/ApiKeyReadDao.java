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

/** The look-up behind every request's key, on a replica (lag-aware) or the writer: see {@link ApiKeyAuthenticator}. */
@RegisterRowMapper(ApiKeyReadDao.CallerMapper.class)
public interface ApiKeyReadDao {

    /**
     * The caller whose key hashes to {@code hash}, if that key is neither revoked nor expired. An
     * unknown, a revoked and an expired key are the same miss of the same index scan: the same
     * answer at the same cost.
     */
    @SqlQuery("select id, org_id, prefix, scopes, expires_at from api_keys "
            + "where hash = :hash and revoked_at is null and (expires_at is null or expires_at > now())")
    Optional<Caller> find(@Bind("hash") byte[] hash);

    final class CallerMapper implements RowMapper<Caller> {
        @Override
        public Caller map(ResultSet rs, StatementContext ctx) throws SQLException {
            String[] scopes = (String[]) rs.getArray(4).getArray();
            Timestamp expires = rs.getTimestamp(5);
            return new Caller(rs.getLong(1), rs.getLong(2), Set.copyOf(List.of(scopes)), rs.getString(3),
                    expires == null ? null : expires.toInstant());
        }
    }
}
