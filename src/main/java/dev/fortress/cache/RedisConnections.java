package dev.fortress.cache;

import java.util.HashSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisSentinelPool;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.util.JedisURIHelper;
import redis.clients.jedis.util.Pool;

/**
 * The pool of connections to the Redis master: {@code redis.url}'s host, or the master the Sentinels
 * name now. Jedis's {@link JedisSentinelPool} asks the Sentinels for the master when it is made and
 * then listens to each one's {@code +switch-master}, so after a failover new connections go to the
 * new master without a restart (it closes the idle ones to the old master, and drops a borrowed one
 * when it comes back). It throws when no Sentinel answers, so it is made at the first borrow, and
 * again at most every {@code redis.breakerOpenFor} while none does: Fortress starts and serves from
 * the database with every Sentinel down, as it does with Redis down.
 * <p>
 * JedisPool and JedisSentinelPool are deprecated in Jedis 8 for RedisClient and RedisSentinelClient,
 * which borrow a connection per command; the callers here run several commands, pipelines and
 * scripts on one {@link Jedis}.
 */
@SuppressWarnings("deprecation")
final class RedisConnections implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RedisConnections.class);

    private final RedisConfiguration config;
    private final Supplier<Pool<Jedis>> make;
    private final long retryNanos;
    private final ReentrantLock making = new ReentrantLock();
    private volatile Pool<Jedis> pool;
    /** Guarded by {@link #making}: when the last attempt to make the pool failed (0: none has). */
    private long failedAt;

    private volatile boolean closed;

    RedisConnections(RedisConfiguration config) {
        this.config = config;
        this.retryNanos = config.getBreakerOpenFor().toNanoseconds();
        GenericObjectPoolConfig<Jedis> poolConfig = new GenericObjectPoolConfig<>();
        poolConfig.setMaxTotal(config.getMaxTotal());
        poolConfig.setMaxIdle(config.getMaxTotal());
        poolConfig.setMinIdle(config.getMinIdle());
        poolConfig.setMaxWait(config.getBorrowTimeout().toJavaDuration());
        poolConfig.setJmxEnabled(false);
        if (config.usesSentinels()) {
            JedisClientConfig sentinels = DefaultJedisClientConfig.builder()
                    .connectionTimeoutMillis((int) config.getSentinelTimeout().toMilliseconds())
                    .socketTimeoutMillis((int) config.getSentinelTimeout().toMilliseconds())
                    .autoNegotiateProtocol(false)
                    .clientName("fortress-sentinel-listener") // in the Sentinels' CLIENT LIST
                    .build();
            this.make = () -> new JedisSentinelPool(
                    config.getMasterName(),
                    new HashSet<>(config.sentinelAddresses()),
                    poolConfig,
                    clientConfig(config, null),
                    sentinels);
        } else {
            this.make = () -> new JedisPool(
                    poolConfig,
                    config.getUrl(),
                    (int) config.getConnectTimeout().toMilliseconds(),
                    (int) config.getTimeout().toMilliseconds());
            this.pool = make.get(); // connects to nothing yet
        }
    }

    /**
     * How a connection of this instance to the master is made, {@code redis.url}'s user, password,
     * database and TLS included; RESP2, as the pool speaks. {@code clientName} shows in {@code CLIENT LIST}.
     */
    static JedisClientConfig clientConfig(RedisConfiguration config, String clientName) {
        return DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis((int) config.getConnectTimeout().toMilliseconds())
                .socketTimeoutMillis((int) config.getTimeout().toMilliseconds())
                .user(JedisURIHelper.getUser(config.getUrl()))
                .password(JedisURIHelper.getPassword(config.getUrl()))
                .database(JedisURIHelper.getDBIndex(config.getUrl()))
                .ssl(JedisURIHelper.isRedisSSLScheme(config.getUrl()))
                .autoNegotiateProtocol(false)
                .clientName(clientName)
                .build();
    }

    /** A connection to the master; throws as a Redis failure when there is none (no Sentinel answers). */
    Jedis borrow() {
        return pool().getResource();
    }

    /** The master connections go to now; null while no Sentinel has named one. */
    HostAndPort master() {
        Pool<Jedis> current = pool;
        if (current == null) {
            return null;
        }
        return current instanceof JedisSentinelPool sentinels
                ? sentinels.getCurrentHostMaster()
                : JedisURIHelper.getHostAndPort(config.getUrl());
    }

    /** As {@link #master()}, asking the Sentinels if none has named it yet; throws when none answers. */
    HostAndPort findMaster() {
        pool();
        return master();
    }

    /** The pool, or null while there is none (gauges read it). */
    Pool<Jedis> current() {
        return pool;
    }

    private Pool<Jedis> pool() {
        Pool<Jedis> current = pool;
        if (current != null) {
            return current;
        }
        // One thread asks the Sentinels at a time, and not again before retryNanos: the others fail at once.
        if (!making.tryLock()) {
            throw noMaster("another thread is asking the Sentinels");
        }
        try {
            if (pool != null) {
                return pool;
            }
            if (closed || (failedAt != 0 && System.nanoTime() - failedAt < retryNanos)) {
                throw noMaster(closed ? "closed" : "no Sentinel answered lately");
            }
            try {
                Pool<Jedis> made = make.get();
                failedAt = 0;
                LOG.info(
                        "redis master of '{}' is at {}, per the Sentinels {}",
                        config.getMasterName(),
                        ((JedisSentinelPool) made).getCurrentHostMaster(),
                        config.sentinelAddresses());
                pool = made;
                return made;
            } catch (RuntimeException e) {
                failedAt = System.nanoTime();
                LOG.warn(
                        "no Sentinel of {} names the redis master of '{}' ({}): redis is skipped, and the Sentinels "
                                + "are asked again in {}",
                        config.sentinelAddresses(),
                        config.getMasterName(),
                        e.getMessage(),
                        config.getBreakerOpenFor());
                throw e;
            }
        } finally {
            making.unlock();
        }
    }

    private JedisConnectionException noMaster(String why) {
        return new JedisConnectionException("no redis master of '" + config.getMasterName() + "' known: " + why);
    }

    @Override
    public void close() {
        making.lock();
        try {
            closed = true;
            if (pool != null) {
                pool.close(); // a Sentinel pool's listener threads too
            }
        } finally {
            making.unlock();
        }
    }
}
