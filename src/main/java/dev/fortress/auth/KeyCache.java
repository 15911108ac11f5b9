package dev.fortress.auth;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.caffeine.MetricsStatsCounter;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.dropwizard.auth.Authenticator;
import java.util.Collection;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The keys an instance has looked up and trusts: each for {@code auth.cacheFor}, or until it expires
 * if that is sooner, and only while the instance knows the recent revocations: {@link Revocations}
 * hands them to {@link #revoked} every interval, which drops those keys; once no answer has come for
 * {@code staleAfter}, no key is trusted from here and every request's key is looked up again.
 * A key that is not found is not kept, so a flood of guessed keys cannot push real ones out, and
 * costs one look-up per request.
 * <p>
 * Not dropwizard-auth's {@code CachingAuthenticator}: it keeps an unknown key out of its Caffeine
 * cache by throwing from the cache's loader, and those exceptions were 6.4-6.9% of the CPU samples
 * of a 401 for an unknown key (bench/results/2026-12-05-auth-profile.md); here the loader answers
 * null, which Caffeine does not keep. Same Caffeine, the same statistics
 * ({@code dev.fortress.auth.key-cache.*}). And its keys are kept for minutes, not seconds, since
 * revocations now reach the instance without expiring every key: the authentication of a 200 fell
 * from 8.7-9.7% of its samples to 1.7-2.3% (the same file).
 */
final class KeyCache {

    /** A looked-up key, and when this instance last recorded its use. */
    private static final class Trusted {
        final Caller caller;
        volatile long recordedMillis;

        Trusted(Caller caller) {
            this.caller = caller;
        }
    }

    /** A key's use is recorded at most this often per instance (LastUse writes it every interval). */
    private static final long RECORD_EVERY_MILLIS = 1_000;

    private final Cache<String, Trusted> cache;
    private final Authenticator<String, Caller> lookUp;
    private final long staleAfterNanos;
    private final LastUse lastUse;
    private final LongSupplier clock;
    private final LongSupplier nanoClock;
    /** When {@link #revoked} was last told the recent revocations; only meaningful once {@link #told}. */
    private volatile long toldNanos;

    private volatile boolean told;

    /**
     * @param lookUp          the look-up of a key not kept (it never throws a checked exception)
     * @param staleAfterNanos how long after the last news of revocations keys are still trusted from here
     * @param clock           wall-clock milliseconds (expiry, last use); {@code nanoClock}: elapsed time
     */
    KeyCache(
            Authenticator<String, Caller> lookUp,
            long cacheForNanos,
            int maxKeys,
            long staleAfterNanos,
            LastUse lastUse,
            LongSupplier clock,
            LongSupplier nanoClock,
            MetricRegistry metrics) {
        this.lookUp = lookUp;
        this.staleAfterNanos = staleAfterNanos;
        this.lastUse = lastUse;
        this.clock = clock;
        this.nanoClock = nanoClock;
        this.cache = Caffeine.newBuilder()
                .maximumSize(maxKeys)
                .expireAfter(new Expiry<String, Trusted>() {
                    @Override
                    public long expireAfterCreate(String key, Trusted value, long currentTime) {
                        return trustedFor(value.caller, cacheForNanos);
                    }

                    @Override
                    public long expireAfterUpdate(String key, Trusted value, long currentTime, long currentDuration) {
                        return trustedFor(value.caller, cacheForNanos);
                    }

                    @Override
                    public long expireAfterRead(String key, Trusted value, long currentTime, long currentDuration) {
                        return currentDuration;
                    }
                })
                .recordStats(() -> new MetricsStatsCounter(metrics, "dev.fortress.auth.key-cache"))
                .build();
    }

    /** {@code cacheFor}, or until the key expires if that is sooner. */
    private long trustedFor(Caller caller, long cacheForNanos) {
        if (caller.expiresAt() == null) {
            return cacheForNanos;
        }
        long left = TimeUnit.MILLISECONDS.toNanos(caller.expiresAt().toEpochMilli() - clock.getAsLong());
        return Math.max(0, Math.min(cacheForNanos, left));
    }

    /** The caller of a well-formed key: kept, or looked up (and kept when found). */
    Optional<Caller> authenticate(String key) throws io.dropwizard.auth.AuthenticationException {
        if (!revocationsKnown()) {
            cache.invalidateAll();
            Optional<Caller> found = lookUp.authenticate(key);
            found.ifPresent(caller -> lastUse.used(caller.keyId(), clock.getAsLong()));
            return found;
        }
        Trusted trusted = cache.get(key, this::load);
        if (trusted == null) {
            return Optional.empty();
        }
        long now = clock.getAsLong();
        if (now - trusted.recordedMillis >= RECORD_EVERY_MILLIS) {
            trusted.recordedMillis = now;
            lastUse.used(trusted.caller.keyId(), now);
        }
        return Optional.of(trusted.caller);
    }

    private Trusted load(String key) {
        try {
            return lookUp.authenticate(key).map(Trusted::new).orElse(null);
        } catch (io.dropwizard.auth.AuthenticationException e) {
            throw new IllegalStateException(e); // never: the key look-up throws no checked exception
        }
    }

    /** Whether the news of revocations is recent enough to trust a kept key. */
    boolean revocationsKnown() {
        return told && nanoClock.getAsLong() - toldNanos <= staleAfterNanos;
    }

    /**
     * The keys revoked lately, as asked at {@code askedNanos}: those kept are dropped, and the cache
     * may be trusted until {@code staleAfter} from then.
     */
    void revoked(Collection<Long> keyIds, long askedNanos) {
        if (!keyIds.isEmpty()) {
            Set<Long> revoked = new HashSet<>(keyIds);
            cache.asMap().values().removeIf(trusted -> revoked.contains(trusted.caller.keyId()));
        }
        toldNanos = askedNanos;
        told = true;
    }

    /** Drops one key (a temporary key that is closed). */
    void drop(String key) {
        cache.invalidate(key);
    }
}
