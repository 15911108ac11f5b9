package dev.fortress.cache;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Function;

/**
 * A small in-process copy of what a Redis cache answered, in front of it: bounded in entries and
 * in age, kept coherent across instances by {@link Invalidations}, and used only while they are
 * trusted ({@link Invalidations#listening()}). Otherwise every lookup goes to Redis as before.
 * <p>
 * A fill must never store what an invalidation has already made stale. A request takes a
 * {@link Ticket} before it reads Redis, and its answer is stored only if no invalidation of that key
 * (nor of everything) was received since: an invalidation received after the store removes the entry
 * itself. Keys are counted in {@value #STRIPES} stripes rather than one by one, so the counts take
 * fixed memory; a key that shares a stripe with one just invalidated only loses a fill (the next
 * request fills it). Dropping everything bumps a generation that every entry carries, so an entry
 * stored by a fill that raced the drop is never served.
 *
 * @param <K> the key, as a message of the channel names it ({@code "*"}: every key)
 */
public final class NearCache<K, V> implements Invalidations.Listener {

    /** The message that drops every entry. */
    public static final String EVERYTHING = "*";

    private static final int STRIPES = 1024;

    /** What a fill saw before it read Redis. */
    public record Ticket(long generation, long stripe) {}

    private record Held<V>(V value, long generation, long deadlineNanos) {}

    private final Cache<Object, Held<V>> cache;
    private final Invalidations invalidations;
    private final Function<String, K> keyOf;
    private final long ttlNanos;
    private final AtomicLongArray stripes = new AtomicLongArray(STRIPES);
    private final AtomicLong generation = new AtomicLong();
    private final Meter hits;
    private final Meter misses;
    private final Meter bypassed;
    private final Meter drops;

    private NearCache(
            int maxEntries,
            io.dropwizard.util.Duration ttl,
            Invalidations invalidations,
            Function<String, K> keyOf,
            MetricRegistry metrics,
            String prefix) {
        this.invalidations = invalidations;
        this.keyOf = keyOf;
        this.ttlNanos = ttl.toNanoseconds();
        this.cache = Caffeine.newBuilder()
                .maximumSize(maxEntries)
                .expireAfter(new Expiry<Object, Held<V>>() {
                    @Override
                    public long expireAfterCreate(Object key, Held<V> held, long now) {
                        return held.deadlineNanos() - now;
                    }

                    @Override
                    public long expireAfterUpdate(Object key, Held<V> held, long now, long current) {
                        return held.deadlineNanos() - now;
                    }

                    @Override
                    public long expireAfterRead(Object key, Held<V> held, long now, long current) {
                        return current;
                    }
                })
                .build();
        hits = metrics.meter(MetricRegistry.name(prefix, "hits"));
        misses = metrics.meter(MetricRegistry.name(prefix, "misses"));
        bypassed = metrics.meter(MetricRegistry.name(prefix, "bypassed"));
        drops = metrics.meter(MetricRegistry.name(prefix, "drops"));
        metrics.register(MetricRegistry.name(prefix, "size"), (Gauge<Long>) cache::estimatedSize);
    }

    /**
     * A near-cache fed by {@code invalidations} (this becomes its listener).
     *
     * @param keyOf   the key a message names; a message it refuses (throws) drops every entry
     * @param prefix  metrics: {@code <prefix>.hits}, {@code .misses}, {@code .bypassed} (lookups while
     *                the invalidations were not trusted), {@code .drops} (every entry dropped), {@code .size}
     */
    public static <K, V> NearCache<K, V> fedBy(
            Invalidations invalidations,
            int maxEntries,
            io.dropwizard.util.Duration ttl,
            Function<String, K> keyOf,
            MetricRegistry metrics,
            String prefix) {
        NearCache<K, V> near = new NearCache<>(maxEntries, ttl, invalidations, keyOf, metrics, prefix);
        invalidations.deliverTo(near);
        return near;
    }

    /** A near-cache that holds nothing, counts nothing and never asks for a subscription. */
    public static <K, V> NearCache<K, V> off() {
        return new NearCache<>();
    }

    private NearCache() {
        this.cache = null;
        this.invalidations = null;
        this.keyOf = null;
        this.ttlNanos = 0;
        this.hits = this.misses = this.bypassed = this.drops = null;
    }

    /** The value held for {@code key}, or null (not held, or the invalidations are not trusted now). */
    public V get(K key) {
        if (cache == null) {
            return null;
        }
        if (!invalidations.listening()) {
            bypassed.mark();
            return null;
        }
        Held<V> held = cache.getIfPresent(key);
        if (held == null || held.generation() != generation.get()) {
            misses.mark();
            return null;
        }
        hits.mark();
        return held.value();
    }

    /** Take before reading what will be stored; null when nothing may be stored now. */
    public Ticket ticket(K key) {
        if (cache == null) {
            return null;
        }
        // Counts first, trust second: a subscription lost before the check is not trusted by it, and
        // one lost after it has moved the generation (it drops everything), which put() then sees.
        Ticket ticket = new Ticket(generation.get(), stripes.get(stripe(key)));
        return invalidations.listening() ? ticket : null;
    }

    /**
     * Stores {@code value} for at most the TTL and at most {@code maxAgeNanos}, unless an
     * invalidation of the key, or of everything, came after {@code ticket} was taken.
     */
    public void put(K key, Ticket ticket, V value, long maxAgeNanos) {
        if (cache == null || ticket == null) {
            return;
        }
        long life = Math.min(ttlNanos, maxAgeNanos);
        if (life <= 0) {
            return;
        }
        Held<V> held = new Held<>(value, ticket.generation(), System.nanoTime() + life);
        // Compared under the key's lock: an invalidation of the key either came before (the stripe
        // moved: not stored) or removes the entry after.
        cache.asMap()
                .compute(
                        key,
                        (k, old) -> stripes.get(stripe(k)) == ticket.stripe() && generation.get() == ticket.generation()
                                ? held
                                : old);
    }

    /** Drops {@code key} here (this instance's own write, or another's message). */
    public void invalidate(K key) {
        if (cache == null) {
            return;
        }
        stripes.incrementAndGet(stripe(key));
        cache.invalidate(key);
    }

    /** Drops every entry here. */
    public void invalidateAll() {
        if (cache == null) {
            return;
        }
        generation.incrementAndGet(); // first: no entry stored under an older generation is served again
        drops.mark();
        cache.invalidateAll();
    }

    @Override
    public void message(String message) {
        if (EVERYTHING.equals(message)) {
            invalidateAll();
            return;
        }
        K key;
        try {
            key = keyOf.apply(message);
        } catch (RuntimeException e) {
            invalidateAll(); // a message not understood: whatever it named may be stale
            return;
        }
        invalidate(key);
    }

    @Override
    public void lost() {
        invalidateAll();
    }

    private static int stripe(Object key) {
        int h = key.hashCode();
        return (h ^ (h >>> 16)) & (STRIPES - 1);
    }
}
