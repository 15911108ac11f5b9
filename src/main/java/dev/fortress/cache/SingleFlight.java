package dev.fortress.cache;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * At most one computation per key at a time in this instance: callers that arrive while one
 * runs wait for its result instead of starting their own (no stampede on a cold key).
 * <p>
 * Caffeine holds the computations in flight: it never expires one while it runs (ben-manes/caffeine
 * #625) and, with a zero expiry, forgets it as soon as it is done, so a later caller computes afresh.
 * The first caller computes on its own thread, as before; the others wait for its future.
 */
public final class SingleFlight<K, V> {

    /**
     * What a computation gave, its failure too: a future that failed would be logged by Caffeine as
     * a WARN with a stack trace, once per failed computation (thousands a second in a database
     * outage, which the API's error mapper logs at a limited rate).
     */
    private record Outcome<V>(V value, RuntimeException failure) {
        V get() {
            if (failure != null) {
                throw failure;
            }
            return value;
        }
    }

    private final AsyncCache<K, Outcome<V>> inFlight =
            Caffeine.newBuilder().expireAfterWrite(Duration.ZERO).buildAsync();

    public V get(K key, Supplier<V> compute) {
        CompletableFuture<Outcome<V>> mine = new CompletableFuture<>();
        CompletableFuture<Outcome<V>> flight = inFlight.get(key, (k, executor) -> mine);
        if (flight == mine) {
            try {
                mine.complete(new Outcome<>(compute.get(), null));
            } catch (RuntimeException e) {
                mine.complete(new Outcome<>(null, e));
            } catch (Error e) {
                mine.completeExceptionally(e); // rare enough to be logged; those waiting must not wait forever
                throw e;
            }
        }
        return flight.join().get();
    }

    /** Whether a computation for {@code key} runs now (early refreshes skip keys already being computed). */
    public boolean running(K key) {
        return inFlight.getIfPresent(key) != null;
    }
}
