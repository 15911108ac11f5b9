package dev.fortress.testing;

import dev.fortress.auth.ApiKeyStore;
import dev.fortress.auth.Scopes;
import java.time.Instant;
import java.util.Set;

/** API keys for tests, made as {@code keys create} makes them (the same store, on the test's database). */
public final class TestKeys {

    private TestKeys() {}

    /** A key of {@code orgId} with every scope: what most tests call with. */
    public static String of(TestDatabase db, long orgId) {
        return create(db, orgId, Set.copyOf(Scopes.ALL), null);
    }

    /** A key of {@code orgId} with exactly {@code scopes}. */
    public static String of(TestDatabase db, long orgId, String... scopes) {
        return create(db, orgId, Set.of(scopes), null);
    }

    public static String create(TestDatabase db, long orgId, Set<String> scopes, Instant expiresAt) {
        return new ApiKeyStore(db.jdbi()).create(orgId, scopes, expiresAt).key();
    }
}
