package dev.fortress.auth;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.GetGeneratedKeys;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** Keys as an operator manages them ({@code keys create|list|revoke}), on the writer. */
public interface ApiKeyDao {

    /** A key as {@code keys list} shows it: never the key, only its first characters. */
    record Listed(
            long id,
            long orgId,
            String prefix,
            String[] scopes,
            OffsetDateTime createdAt,
            OffsetDateTime expiresAt,
            OffsetDateTime revokedAt,
            OffsetDateTime lastUsedAt,
            Double requestsPerSecond) {}

    /** A key just revoked (or revoked before: then {@code revokedAt} is that first time). */
    record Revoked(long id, long orgId, String prefix, OffsetDateTime revokedAt) {}

    /** {@code requestsPerSecond} null: the key runs at {@code rateLimits.requestsPerSecond}. */
    @SqlUpdate("insert into api_keys (org_id, prefix, hash, scopes, expires_at, requests_per_second) "
            + "values (:orgId, :prefix, :hash, cast(:scopes as text[]), :expiresAt, :rate)")
    @GetGeneratedKeys("id")
    long create(
            @Bind("orgId") long orgId,
            @Bind("prefix") String prefix,
            @Bind("hash") byte[] hash,
            @Bind("scopes") String[] scopes,
            @Bind("expiresAt") OffsetDateTime expiresAt,
            @Bind("rate") Double requestsPerSecond);

    @SqlQuery("select id, org_id, prefix, scopes, created_at, expires_at, revoked_at, last_used_at, "
            + "requests_per_second "
            + "from api_keys where org_id = :orgId order by id")
    @RegisterConstructorMapper(Listed.class)
    List<Listed> list(@Bind("orgId") long orgId);

    @SqlQuery("update api_keys set revoked_at = coalesce(revoked_at, now()) where id = :id "
            + "returning id, org_id, prefix, revoked_at")
    @RegisterConstructorMapper(Revoked.class)
    Optional<Revoked> revokeById(@Bind("id") long id);

    @SqlQuery("update api_keys set revoked_at = coalesce(revoked_at, now()) where hash = :hash "
            + "returning id, org_id, prefix, revoked_at")
    @RegisterConstructorMapper(Revoked.class)
    Optional<Revoked> revokeByHash(@Bind("hash") byte[] hash);

    /**
     * Moves each key's last use forward to its time in {@code atMillis} (epoch milliseconds, in the
     * order of {@code ids}), never back: several instances flush in any order.
     */
    @SqlUpdate("update api_keys k set last_used_at = greatest(k.last_used_at, to_timestamp(u.at / 1000.0)) "
            + "from unnest(cast(:ids as bigint[]), cast(:at as bigint[])) as u(id, at) where k.id = u.id")
    int used(@Bind("ids") Long[] ids, @Bind("at") Long[] atMillis);
}
