package dev.fortress.cache;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import io.dropwizard.lifecycle.Managed;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.util.JedisURIHelper;

/**
 * Redis for caches that must never hurt a request: every call is bounded by the pool's borrow
 * timeout and the socket timeout, a failure (down, slow, refused) is logged once per state
 * change and answered with {@link Optional#empty()}, and after repeated failures a circuit
 * breaker skips Redis for a while so requests pay nothing for it.
 */
public final class Redis implements Managed {

    private static final Logger LOG = LoggerFactory.getLogger(Redis.class);
    static final String PREFIX = "dev.fortress.cache.redis";

    private final RedisConfiguration config;
    private final CircuitBreaker breaker;
    private final Meter errors;
    private final Meter skipped;
    private final Meter exhausted;
    private final JedisPool pool;
    private final List<Runnable> failureListeners = new CopyOnWriteArrayList<>();

    public Redis(RedisConfiguration config, MetricRegistry metrics) {
        this.config = config;
        this.breaker = breaker(config.getBreakerFailures(), config.getBreakerOpenFor().toJavaDuration(),
                Clock.systemUTC());
        this.errors = metrics.meter(MetricRegistry.name(PREFIX, "errors"));
        this.skipped = metrics.meter(MetricRegistry.name(PREFIX, "skipped-breaker-open"));
        this.exhausted = metrics.meter(MetricRegistry.name(PREFIX, "pool-exhausted"));
        this.pool = newPool();
        metrics.register(MetricRegistry.name(PREFIX, "pool", "active"), (Gauge<Integer>) () -> pool.getNumActive());
        metrics.register(MetricRegistry.name(PREFIX, "pool", "idle"), (Gauge<Integer>) () -> pool.getNumIdle());
        metrics.register(MetricRegistry.name(PREFIX, "pool", "waiters"), (Gauge<Integer>) () -> pool.getNumWaiters());
        metrics.register(MetricRegistry.name(PREFIX, "pool", "max"), (Gauge<Integer>) config::getMaxTotal);
        metrics.register(MetricRegistry.name(PREFIX, "pool", "borrow-wait-mean-seconds"),
                (Gauge<Double>) () -> pool.getMeanBorrowWaitTimeMillis() / 1000.0);
        metrics.register(MetricRegistry.name(PREFIX, "pool", "borrow-wait-max-seconds"),
                (Gauge<Double>) () -> pool.getMaxBorrowWaitTimeMillis() / 1000.0);
        // 0 closed, 1 half-open, 2 open: one number an alert can compare.
        metrics.register(MetricRegistry.name(PREFIX, "breaker-state"), (Gauge<Integer>) () ->
                switch (breaker.getState()) {
                    case CLOSED -> 0;
                    case HALF_OPEN -> 1;
                    default -> 2; // OPEN: nothing here forces or disables the breaker
                });
    }

    /**
     * Open after {@code failures} consecutive failures, for {@code openFor}; then the next call is
     * the one trial whose success closes it and whose failure opens it again. In resilience4j's
     * terms: a window of the last {@code failures} calls, all of which must have failed.
     */
    static CircuitBreaker breaker(int failures, Duration openFor, Clock clock) {
        return CircuitBreaker.of("redis", CircuitBreakerConfig.custom()
                .slidingWindow(failures, failures, SlidingWindowType.COUNT_BASED)
                .failureRateThreshold(100)
                .waitDurationInOpenState(openFor)
                .permittedNumberOfCallsInHalfOpenState(1)
                // A request after openFor is the trial: no timer thread needed to move to half-open.
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .clock(clock)
                .build());
    }

    private JedisPool newPool() {
        GenericObjectPoolConfig<Jedis> poolConfig = new GenericObjectPoolConfig<>();
        poolConfig.setMaxTotal(config.getMaxTotal());
        poolConfig.setMaxIdle(config.getMaxTotal());
        poolConfig.setMinIdle(config.getMinIdle());
        poolConfig.setMaxWait(config.getBorrowTimeout().toJavaDuration());
        poolConfig.setJmxEnabled(false);
        return new JedisPool(poolConfig, config.getUrl(), (int) config.getConnectTimeout().toMilliseconds(),
                (int) config.getTimeout().toMilliseconds());
    }

    /**
     * Runs {@code call} on a pooled connection unless the breaker is open. Empty when Redis could
     * not answer; the caller then serves from the source of truth.
     */
    public <T> Optional<T> call(String what, Function<Jedis, T> call) {
        if (!breaker.tryAcquirePermission()) {
            // Counted here, not by the breaker's CallNotPermitted event: resilience4j 2.4.0 publishes
            // that event twice when a call races another one for the half-open trial (measured: 674
            // extra events over 2,000 open periods at 8 threads), and RedisOutageTest counts exactly.
            skipped.mark();
            return Optional.empty();
        }
        Jedis borrowed;
        try {
            borrowed = pool.getResource();
        } catch (RuntimeException e) {
            if (poolExhausted(e)) {
                // Local saturation, not a Redis failure: this request goes to the database, the breaker stays as it is.
                exhausted.mark();
                breaker.releasePermission();
                return Optional.empty();
            }
            return failed(what, e);
        }
        try (Jedis jedis = borrowed) {
            T result = call.apply(jedis);
            CircuitBreaker.State before = breaker.getState();
            breaker.onSuccess(0, TimeUnit.NANOSECONDS); // calls are not timed: none counts as slow
            if (before != CircuitBreaker.State.CLOSED && breaker.getState() == CircuitBreaker.State.CLOSED) {
                LOG.info("redis at {} answers again: breaker closed", where());
            }
            return Optional.ofNullable(result);
        } catch (RuntimeException e) {
            return failed(what, e);
        }
    }

    /**
     * {@code listener} runs, on the caller's thread, after each failed call (not after a call skipped
     * by the breaker or by a full pool): a failure may mean Redis restarted, so whatever this instance
     * learns from Redis by other means (an {@link Invalidations} subscription) may have gaps.
     */
    public void onFailure(Runnable listener) {
        failureListeners.add(listener);
    }

    /** No pooled connection came free within the borrow timeout (the pool gives up without a cause). */
    private static boolean poolExhausted(RuntimeException e) {
        return !(e instanceof JedisConnectionException)
                && e.getCause() instanceof java.util.NoSuchElementException timeout && timeout.getCause() == null;
    }

    private <T> Optional<T> failed(String what, RuntimeException e) {
        errors.mark();
        CircuitBreaker.State before = breaker.getState();
        breaker.onError(0, TimeUnit.NANOSECONDS, e);
        if (before == CircuitBreaker.State.CLOSED && breaker.getState() == CircuitBreaker.State.OPEN) {
            LOG.warn("redis at {} failing ({} on {}): breaker open for {}, serving from the database",
                    where(), e.getMessage(), what, config.getBreakerOpenFor());
        } else {
            LOG.debug("redis {} failed: {}", what, e.getMessage());
        }
        failureListeners.forEach(Runnable::run);
        return Optional.empty();
    }

    /** A PING that bypasses the breaker (health checks must see recovery before requests do). */
    String ping() {
        try (Jedis jedis = pool.getResource()) {
            return jedis.ping();
        }
    }

    CircuitBreaker.State breakerState() {
        return breaker.getState();
    }

    RedisConfiguration config() {
        return config;
    }

    /** The database number of {@code redis.url} (its path, 0 without one): keys, and so channels, are per database. */
    public int database() {
        return JedisURIHelper.getDBIndex(config.getUrl());
    }

    String where() {
        return config.getUrl().getHost() + ":" + config.getUrl().getPort();
    }

    @Override
    public void stop() {
        pool.close();
    }
}
