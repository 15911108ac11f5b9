package dev.fortress.cache;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import io.dropwizard.lifecycle.Managed;
import java.util.Optional;
import java.util.function.Function;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.exceptions.JedisConnectionException;

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

    public Redis(RedisConfiguration config, MetricRegistry metrics) {
        this.config = config;
        this.breaker = new CircuitBreaker(config.getBreakerFailures(),
                config.getBreakerOpenFor().toNanoseconds(), System::nanoTime);
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
        metrics.register(MetricRegistry.name(PREFIX, "breaker-state"), (Gauge<Integer>) () -> breaker.state().ordinal());
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
        if (!breaker.allow()) {
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
                breaker.release();
                return Optional.empty();
            }
            return failed(what, e);
        }
        try (Jedis jedis = borrowed) {
            T result = call.apply(jedis);
            if (breaker.success() != CircuitBreaker.State.CLOSED) {
                LOG.info("redis at {} answers again: breaker closed", where());
            }
            return Optional.ofNullable(result);
        } catch (RuntimeException e) {
            return failed(what, e);
        }
    }

    /** No pooled connection came free within the borrow timeout (the pool gives up without a cause). */
    private static boolean poolExhausted(RuntimeException e) {
        return !(e instanceof JedisConnectionException)
                && e.getCause() instanceof java.util.NoSuchElementException timeout && timeout.getCause() == null;
    }

    private <T> Optional<T> failed(String what, RuntimeException e) {
        errors.mark();
        CircuitBreaker.State before = breaker.failure();
        if (before == CircuitBreaker.State.CLOSED && breaker.state() == CircuitBreaker.State.OPEN) {
            LOG.warn("redis at {} failing ({} on {}): breaker open for {}, serving from the database",
                    where(), e.getMessage(), what, config.getBreakerOpenFor());
        } else {
            LOG.debug("redis {} failed: {}", what, e.getMessage());
        }
        return Optional.empty();
    }

    /** A PING that bypasses the breaker (health checks must see recovery before requests do). */
    String ping() {
        try (Jedis jedis = pool.getResource()) {
            return jedis.ping();
        }
    }

    CircuitBreaker.State breakerState() {
        return breaker.state();
    }

    String where() {
        return config.getUrl().getHost() + ":" + config.getUrl().getPort();
    }

    @Override
    public void stop() {
        pool.close();
    }
}
