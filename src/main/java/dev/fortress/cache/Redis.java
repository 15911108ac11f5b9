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
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.util.JedisURIHelper;
import redis.clients.jedis.util.Pool;

/**
 * Redis for caches that must never hurt a request: every call is bounded by the pool's borrow
 * timeout and the socket timeout, a failure (down, slow, refused) is logged once per state
 * change and answered with {@link Optional#empty()}, and after repeated failures a circuit
 * breaker skips Redis for a while so requests pay nothing for it.
 * <p>
 * Calls go to the master: {@code redis.url}'s host, or the one the Sentinels name now
 * ({@code redis.sentinels}), followed through failovers ({@link RedisConnections}). The first call
 * to reach a new master runs the {@link #onMasterChange} and {@link #onFailure} listeners first, and
 * is answered empty ({@link RedisMasters}).
 */
public final class Redis implements Managed {

    private static final Logger LOG = LoggerFactory.getLogger(Redis.class);
    static final String PREFIX = "dev.fortress.cache.redis";

    private final RedisConfiguration config;
    private final CircuitBreaker breaker;
    private final Meter errors;
    private final Meter skipped;
    private final Meter exhausted;
    private final RedisConnections connections;
    private final RedisMasters masters;
    private final List<Runnable> failureListeners = new CopyOnWriteArrayList<>();

    public Redis(RedisConfiguration config, MetricRegistry metrics) {
        this.config = config;
        this.breaker =
                breaker(config.getBreakerFailures(), config.getBreakerOpenFor().toJavaDuration(), Clock.systemUTC());
        this.errors = metrics.meter(MetricRegistry.name(PREFIX, "errors"));
        this.skipped = metrics.meter(MetricRegistry.name(PREFIX, "skipped-breaker-open"));
        this.exhausted = metrics.meter(MetricRegistry.name(PREFIX, "pool-exhausted"));
        this.connections = new RedisConnections(config);
        this.masters = new RedisMasters(metrics, PREFIX);
        // Reached by no call yet, but the one master there is: its gauge exists from start-up.
        if (!config.usesSentinels()) {
            masters.arrivedAt(connections.master());
        }
        metrics.register(MetricRegistry.name(PREFIX, "pool", "active"), poolGauge(Pool::getNumActive));
        metrics.register(MetricRegistry.name(PREFIX, "pool", "idle"), poolGauge(Pool::getNumIdle));
        metrics.register(MetricRegistry.name(PREFIX, "pool", "waiters"), poolGauge(Pool::getNumWaiters));
        metrics.register(MetricRegistry.name(PREFIX, "pool", "max"), (Gauge<Integer>) config::getMaxTotal);
        metrics.register(MetricRegistry.name(PREFIX, "pool", "borrow-wait-mean-seconds"), (Gauge<Double>) () ->
                connections.current() == null ? 0.0 : connections.current().getMeanBorrowWaitTimeMillis() / 1000.0);
        metrics.register(MetricRegistry.name(PREFIX, "pool", "borrow-wait-max-seconds"), (Gauge<Double>) () ->
                connections.current() == null ? 0.0 : connections.current().getMaxBorrowWaitTimeMillis() / 1000.0);
        // 0 closed, 1 half-open, 2 open: one number an alert can compare.
        metrics.register(
                MetricRegistry.name(PREFIX, "breaker-state"), (Gauge<Integer>) () -> switch (breaker.getState()) {
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
        return CircuitBreaker.of(
                "redis",
                CircuitBreakerConfig.custom()
                        .slidingWindow(failures, failures, SlidingWindowType.COUNT_BASED)
                        .failureRateThreshold(100)
                        .waitDurationInOpenState(openFor)
                        .permittedNumberOfCallsInHalfOpenState(1)
                        // A request after openFor is the trial: no timer thread needed to move to half-open.
                        .automaticTransitionFromOpenToHalfOpenEnabled(false)
                        .clock(clock)
                        .build());
    }

    /** 0 while there is no pool (no Sentinel has named the master yet). */
    private Gauge<Integer> poolGauge(ToIntFunction<Pool<Jedis>> read) {
        return () -> {
            Pool<Jedis> pool = connections.current();
            return pool == null ? 0 : read.applyAsInt(pool);
        };
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
            borrowed = connections.borrow();
        } catch (RuntimeException e) {
            if (poolExhausted(e)) {
                // Local saturation, not a Redis failure: this request goes to the database, the breaker stays as it is.
                exhausted.mark();
                breaker.releasePermission();
                return Optional.empty();
            }
            return failed(what, e);
        }
        if (masters.arrivedAt(borrowed.getConnection().getHostAndPort())) {
            // The listeners have acted, but this call's caller may have checked what they change before
            // it called: it gets nothing read from the new master.
            borrowed.close();
            breaker.releasePermission();
            return Optional.empty();
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
     * by the breaker or by a full pool), and when the master changes ({@link #onMasterChange}): a
     * failure may mean Redis restarted, and a new master may lack the old one's last writes, so whatever
     * this instance learns from Redis by other means (an {@link Invalidations} subscription) may have gaps.
     */
    public void onFailure(Runnable listener) {
        failureListeners.add(listener);
        masters.onChange(listener); // a new master may lack what the old one had: a gap, as after a failure
    }

    /**
     * {@code listener} runs, on the caller's thread, when a call first reaches a master other than the
     * one calls reached before (a Sentinel failover), before that call runs and before any other call
     * runs on the new master; the {@link #onFailure} listeners run then too. The new master may lack
     * the old one's last writes: what a cache stored or invalidated there just before may be lost.
     */
    public void onMasterChange(Runnable listener) {
        masters.onChange(listener);
    }

    /** No pooled connection came free within the borrow timeout (the pool gives up without a cause). */
    private static boolean poolExhausted(RuntimeException e) {
        return !(e instanceof JedisConnectionException)
                && e.getCause() instanceof java.util.NoSuchElementException timeout
                && timeout.getCause() == null;
    }

    private <T> Optional<T> failed(String what, RuntimeException e) {
        errors.mark();
        CircuitBreaker.State before = breaker.getState();
        breaker.onError(0, TimeUnit.NANOSECONDS, e);
        if (before == CircuitBreaker.State.CLOSED && breaker.getState() == CircuitBreaker.State.OPEN) {
            LOG.warn(
                    "redis at {} failing ({} on {}): breaker open for {}, serving from the database",
                    where(),
                    e.getMessage(),
                    what,
                    config.getBreakerOpenFor());
        } else {
            LOG.debug("redis {} failed: {}", what, e.getMessage());
        }
        failureListeners.forEach(Runnable::run);
        return Optional.empty();
    }

    /** A PING that bypasses the breaker (health checks must see recovery before requests do). */
    String ping() {
        try (Jedis jedis = connections.borrow()) {
            masters.arrivedAt(jedis.getConnection().getHostAndPort()); // a PONG reads nothing a cache uses
            return jedis.ping();
        }
    }

    /** The master new connections go to now; null while no Sentinel has named one. */
    public HostAndPort master() {
        return connections.master();
    }

    /** As {@link #master()}, asking the Sentinels if none has named one yet; throws when none answers. */
    HostAndPort findMaster() {
        return connections.findMaster();
    }

    /** How this instance connects to the master outside the pool (a subscription), named {@code clientName}. */
    JedisClientConfig clientConfig(String clientName) {
        return RedisConnections.clientConfig(config, clientName);
    }

    CircuitBreaker.State breakerState() {
        return breaker.getState();
    }

    /** The database number of {@code redis.url} (its path, 0 without one): keys, and so channels, are per database. */
    public int database() {
        return JedisURIHelper.getDBIndex(config.getUrl());
    }

    /** For logs and the health check: the master's address, and with Sentinels who named it. */
    String where() {
        if (!config.usesSentinels()) {
            return config.getUrl().getHost() + ":" + config.getUrl().getPort();
        }
        HostAndPort master = master();
        return (master == null ? "(unknown)" : master.toString()) + ", master '" + config.getMasterName()
                + "' per the Sentinels " + config.sentinelAddresses();
    }

    /** What an operator checks when Redis does not answer. */
    String whatToCheck() {
        if (!config.usesSentinels()) {
            return "Check REDIS_URL and that Redis runs (bin/services status).";
        }
        HostAndPort sentinel = config.sentinelAddresses().get(0);
        return "Check REDIS_SENTINELS, REDIS_MASTER_NAME and what the Sentinels say (redis-cli -h "
                + sentinel.getHost() + " -p " + sentinel.getPort() + " sentinel get-master-addr-by-name "
                + config.getMasterName() + ").";
    }

    @Override
    public void stop() {
        connections.close();
    }
}
