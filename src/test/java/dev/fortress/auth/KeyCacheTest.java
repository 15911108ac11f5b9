package dev.fortress.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.testing.TestDatabase;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * What the instance keeps of looked-up keys, on a clock of the test's: a found key is kept, an
 * unknown one never; a revoked key is dropped when the revocations say so; and once no news of
 * revocations has come for the stale bound, no key is trusted from the cache.
 */
class KeyCacheTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private final AtomicInteger lookUps = new AtomicInteger();
    private final AtomicLong nanos = new AtomicLong(1_000 * SECOND);
    private final Map<String, Caller> stored = Map.of(
            "fk_known", new Caller(1, 7, Set.of(Scopes.READ), "fk_known", null),
            "fk_other", new Caller(2, 7, Set.of(Scopes.READ), "fk_other", null));
    private final KeyCache cache = new KeyCache(
            key -> {
                lookUps.incrementAndGet();
                return Optional.ofNullable(stored.get(key));
            },
            TimeUnit.MINUTES.toNanos(5),
            100,
            3 * SECOND,
            new LastUse(DB.jdbi(), Executors.newSingleThreadScheduledExecutor(), 10_000),
            System::currentTimeMillis,
            nanos::get,
            new MetricRegistry());

    private Optional<Caller> twice(String key) throws Exception {
        cache.authenticate(key);
        return cache.authenticate(key);
    }

    @Test
    void aKeyIsKeptOnlyOnceTheRevocationsAreKnown() throws Exception {
        assertThat(twice("fk_known")).isPresent();
        assertThat(lookUps)
                .as("no news of revocations yet: each request looks its key up")
                .hasValue(2);

        cache.revoked(List.of(), nanos.get());
        assertThat(twice("fk_known")).isPresent();
        assertThat(lookUps).as("kept after the first").hasValue(3);
    }

    @Test
    void anUnknownKeyIsNeverKept() throws Exception {
        cache.revoked(List.of(), nanos.get());
        assertThat(twice("fk_unknown")).isEmpty();
        assertThat(lookUps).hasValue(2);
    }

    @Test
    void aRevokedKeyIsDroppedAndTheOthersKept() throws Exception {
        cache.revoked(List.of(), nanos.get());
        cache.authenticate("fk_known");
        cache.authenticate("fk_other");

        cache.revoked(List.of(1L), nanos.get());

        cache.authenticate("fk_other");
        assertThat(lookUps).as("the other is still kept").hasValue(2);
        cache.authenticate("fk_known");
        assertThat(lookUps).as("the revoked one is looked up again").hasValue(3);
    }

    @Test
    void withoutNewsOfRevocationsForTheStaleBoundNoKeyIsTrustedFromTheCache() throws Exception {
        cache.revoked(List.of(), nanos.get());
        cache.authenticate("fk_known");
        nanos.addAndGet(3 * SECOND);
        cache.authenticate("fk_known");
        assertThat(lookUps).as("at the bound, still kept").hasValue(1);

        nanos.addAndGet(1);
        assertThat(twice("fk_known")).isPresent();
        assertThat(lookUps).as("past it: each request looks its key up").hasValue(3);

        cache.revoked(List.of(), nanos.get());
        assertThat(twice("fk_known")).isPresent();
        assertThat(lookUps).as("news again: kept again").hasValue(4);
    }
}
