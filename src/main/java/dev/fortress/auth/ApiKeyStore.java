package dev.fortress.auth;

import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jdbi.v3.core.Jdbi;

/**
 * Creating, listing and revoking keys, on the writer: what {@code keys create|list|revoke} run,
 * and what tests use to make the keys they call with.
 */
public final class ApiKeyStore {

    /** A key just made: the only time the key itself is known. */
    public record Created(
            long id, long orgId, String key, Set<String> scopes, Instant expiresAt, Double requestsPerSecond) {}

    private final Jdbi writer;
    private final SecureRandom random = new SecureRandom();

    public ApiKeyStore(Jdbi writer) {
        this.writer = writer;
    }

    /** A new key of {@code orgId} with {@code scopes}, that stops working at {@code expiresAt} (null: never). */
    public Created create(long orgId, Set<String> scopes, Instant expiresAt) {
        return create(orgId, scopes, expiresAt, null);
    }

    /**
     * As {@link #create(long, Set, Instant)}, with a request rate of its own ({@code --rate}); null:
     * {@code rateLimits.requestsPerSecond}.
     */
    public Created create(long orgId, Set<String> scopes, Instant expiresAt, Double requestsPerSecond) {
        if (requestsPerSecond != null
                && !(requestsPerSecond > 0 && requestsPerSecond <= RateLimitsConfiguration.MAX_RATE)) {
            throw new IllegalArgumentException("a key's rate is more than 0 and at most "
                    + RateLimitsConfiguration.MAX_RATE + " requests per second, not " + requestsPerSecond);
        }
        if (orgId < 1) {
            throw new IllegalArgumentException("an organisation id is a positive integer, not " + orgId);
        }
        Set<String> ordered = Scopes.parse(String.join(",", scopes));
        String key = ApiKeyFormat.generate(random);
        long id = writer.withExtension(
                ApiKeyDao.class,
                dao -> dao.create(
                        orgId,
                        ApiKeyFormat.shown(key),
                        ApiKeyFormat.hash(key),
                        ordered.toArray(String[]::new),
                        expiresAt == null ? null : expiresAt.atOffset(ZoneOffset.UTC),
                        requestsPerSecond));
        return new Created(id, orgId, key, ordered, expiresAt, requestsPerSecond);
    }

    public List<ApiKeyDao.Listed> list(long orgId) {
        return writer.withExtension(ApiKeyDao.class, dao -> dao.list(orgId));
    }

    /**
     * Revokes a key given as its id ({@code keys list}) or as the key itself; empty when there is
     * no such key. Revoking a revoked key changes nothing and answers when it was revoked.
     */
    public Optional<ApiKeyDao.Revoked> revoke(String keyOrId) {
        String given = keyOrId.strip();
        if (given.startsWith(ApiKeyFormat.PREFIX)) {
            byte[] hash = ApiKeyFormat.hash(given);
            return writer.withExtension(ApiKeyDao.class, dao -> dao.revokeByHash(hash));
        }
        long id;
        try {
            id = Long.parseLong(given);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "'" + given + "' is neither a key id (keys list) nor a key (" + ApiKeyFormat.PREFIX + "...)");
        }
        return writer.withExtension(ApiKeyDao.class, dao -> dao.revokeById(id));
    }
}
