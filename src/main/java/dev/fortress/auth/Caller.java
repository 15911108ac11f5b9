package dev.fortress.auth;

import java.security.Principal;
import java.time.Instant;
import java.util.Set;

/**
 * Who calls: the key a request presented, the one organisation it belongs to and its scopes. Every
 * route takes it ({@code @Auth Caller}) and serves, or writes into, {@link #orgId()} only.
 *
 * @param keyId     the key's id ({@code keys list}), 0 for a key that lives only in this process
 * @param prefix    the key's first characters, as {@code keys list} and the logs show it
 * @param expiresAt when the key stops working, or null
 * @param requestsPerSecond the key's own request rate ({@code keys create --rate}), or 0 for
 *                  {@code rateLimits.requestsPerSecond} ({@link RateLimiter})
 */
public record Caller(
        long keyId, long orgId, Set<String> scopes, String prefix, Instant expiresAt, double requestsPerSecond)
        implements Principal {

    public Caller {
        scopes = Set.copyOf(scopes);
    }

    /** A caller at the default rate. */
    public Caller(long keyId, long orgId, Set<String> scopes, String prefix, Instant expiresAt) {
        this(keyId, orgId, scopes, prefix, expiresAt, 0);
    }

    public boolean has(String scope) {
        return scopes.contains(scope);
    }

    /** The key's prefix, never the key: what a log line may say of a caller. */
    @Override
    public String getName() {
        return prefix;
    }
}
