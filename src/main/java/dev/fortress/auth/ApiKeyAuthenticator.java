package dev.fortress.auth;

import dev.fortress.db.Reads;
import io.dropwizard.auth.Authenticator;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A key to its {@link Caller}: one look-up by the key's SHA-256, on a replica unless it lags (the
 * same lag-aware choice as every read), else the writer. {@link KeyCache} keeps what it finds; what
 * it does not find is never kept, so an unknown, a revoked and an expired key each cost this one
 * look-up.
 * <p>
 * Besides the stored keys, a process can hold keys of its own that live only in its memory
 * ({@link #temporary}): the warm-up calls its own routes with one, for a few seconds, instead of
 * writing a key to the database on every start.
 */
final class ApiKeyAuthenticator implements Authenticator<String, Caller> {

    private final Reads<ApiKeyReadDao> keys;
    private final Map<String, Caller> temporary = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();

    ApiKeyAuthenticator(Reads<ApiKeyReadDao> keys) {
        this.keys = keys;
    }

    @Override
    public Optional<Caller> authenticate(String key) {
        if (!ApiKeyFormat.wellFormed(key)) {
            return Optional.empty();
        }
        Caller own = temporary.get(key);
        if (own != null) {
            return Optional.of(own);
        }
        byte[] hash = ApiKeyFormat.hash(key);
        return keys.read(null, dao -> dao.find(hash));
    }

    /** A key of {@code orgId} with {@code scopes} that this process alone accepts, until {@link #forget}. */
    String temporary(long orgId, Set<String> scopes) {
        String key = ApiKeyFormat.generate(random);
        temporary.put(key, new Caller(0, orgId, scopes, ApiKeyFormat.shown(key), null));
        return key;
    }

    void forget(String key) {
        temporary.remove(key);
    }
}
