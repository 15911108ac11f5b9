package dev.fortress.auth;

import dev.fortress.db.Reads;
import io.dropwizard.lifecycle.Managed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a revocation reaches every instance: each asks, every {@code auth.revocationCheckInterval},
 * for the keys revoked lately (one indexed query, wherever reads go, in the background) and tells
 * its {@link KeyCache}, which drops them. So a key can be trusted for minutes, costing no look-up
 * per request, and still be refused within an interval of its revocation reaching the replicas
 * (which {@code keys revoke} waits for). While the instance cannot ask (every database
 * unreachable), it learns nothing of new revocations: once {@link #STALE_AFTER_INTERVALS} intervals
 * have passed since its last answer, the cache trusts no key and each request's key is looked up
 * (or refused, or answered 503).
 */
final class Revocations implements Managed {

    private static final Logger LOG = LoggerFactory.getLogger(Revocations.class);
    /** Intervals without an answer after which the cache is no longer trusted. */
    static final int STALE_AFTER_INTERVALS = 3;

    private final Reads<ApiKeyReadDao> keys;
    private final KeyCache cache;
    private final long intervalNanos;
    private final double windowSeconds;
    private final ScheduledExecutorService executor;
    private final LongSupplier nanoClock;
    private volatile boolean failing;

    /**
     * @param windowSeconds how far back each check looks: longer than a key is ever kept, so a
     *                      revocation is seen by every check while a key it concerns may be kept
     */
    Revocations(
            Reads<ApiKeyReadDao> keys,
            KeyCache cache,
            long intervalNanos,
            double windowSeconds,
            ScheduledExecutorService executor,
            LongSupplier nanoClock) {
        this.keys = keys;
        this.cache = cache;
        this.intervalNanos = intervalNanos;
        this.windowSeconds = windowSeconds;
        this.executor = executor;
        this.nanoClock = nanoClock;
    }

    @Override
    public void start() {
        executor.scheduleWithFixedDelay(this::check, 0, intervalNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void stop() {
        executor.shutdownNow();
    }

    /** How long after its last answer the cache trusts what it keeps. */
    static long staleAfterNanos(long intervalNanos) {
        return STALE_AFTER_INTERVALS * intervalNanos;
    }

    void check() {
        long asked = nanoClock.getAsLong();
        try {
            cache.revoked(keys.readInBackground(dao -> dao.revokedWithin(windowSeconds)), asked);
            if (failing) {
                failing = false;
                LOG.info("API key revocations readable again: looked-up keys are kept for auth.cacheFor again");
            }
        } catch (RuntimeException e) {
            if (!failing) {
                failing = true;
                LOG.warn(
                        "cannot read API key revocations ({}): from {} intervals on, every request's key is looked "
                                + "up again",
                        e.toString(),
                        STALE_AFTER_INTERVALS);
            }
        }
    }
}
