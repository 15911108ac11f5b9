package dev.fortress.cache;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import io.dropwizard.lifecycle.Managed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPubSub;

/**
 * A subscription to one Redis pub/sub channel of invalidations, held by a thread of its own for as
 * long as the application runs, and whether what it delivered can be trusted right now.
 * <p>
 * Pub/sub delivers a message only to the connections subscribed when it is published: a message
 * published while this instance is not subscribed (Redis restarting, a connection being made again)
 * is lost to it. So the subscription is trusted ({@link #listening()}) only while all of these hold:
 * <ul>
 *   <li>it is subscribed on a live connection. A closed connection (Redis stopped or restarted, the
 *       connection killed) ends it; the thread subscribes again every heartbeat until Redis answers,
 *       and the listener is told {@link Listener#lost()} when it ends and again when it is made;</li>
 *   <li>it is on the master {@link Redis} calls go to ({@link Redis#master()}): after a Sentinel
 *       failover the thread subscribes again on the new master (the old one's death ends the
 *       subscription; one on an old master that lives on, demoted, is closed at the next heartbeat);</li>
 *   <li>a PING sent on it in the last {@link #STALE_AFTER_HEARTBEATS} heartbeats has been answered.
 *       Redis answers on the connection in order, so the PONG comes after every message published
 *       before the PING: the instance has heard everything published up to the PING's sending. A
 *       subscription that leaves {@link #STALE_AFTER_HEARTBEATS} PINGs in a row unanswered is
 *       closed and made again;</li>
 *   <li>no call of this instance to Redis has failed since that PING was sent ({@link #distrust},
 *       from {@link Redis#onFailure}): a failure may be Redis restarting before this connection has
 *       noticed. A PING answered after the failure on the same connection proves that it lived
 *       through it (a restart closes every connection), so nothing was missed and trust resumes.</li>
 * </ul>
 * Messages are delivered to the listener whether or not the subscription is trusted at the time.
 */
public final class Invalidations implements Managed {

    /** Told each message, and told when messages may have been missed. Both run on the subscriber thread. */
    public interface Listener {

        void message(String message);

        /** The subscription ended or was made again: messages may have been missed, forget everything. */
        void lost();
    }

    /** Heartbeats without an answered PING after which the subscription is not trusted, then made again. */
    public static final int STALE_AFTER_HEARTBEATS = 3;

    private static final Logger LOG = LoggerFactory.getLogger(Invalidations.class);

    private final Redis redis;
    private final JedisClientConfig clientConfig;
    private final String channel;
    private final long heartbeatNanos;
    private final ScheduledExecutorService heartbeats;
    private final Meter received;
    private final Meter subscriptions;
    private final long origin = System.nanoTime();
    private volatile Listener listener;

    private final Object lock = new Object();
    /** The subscription's connection and its handler; guarded by {@link #lock} (PINGs are written under it). */
    private Jedis connection;

    private Subscriber subscriber;
    /** The master the subscription was last made (or tried) on. */
    private volatile HostAndPort master;

    private volatile boolean subscribed;
    /** {@link #now} at which the last answered PING was sent, or the subscription was made. */
    private volatile long heardAt;
    /** {@link #now} of the last failed call to Redis: what was heard before it is not enough. */
    private volatile long distrustedAt;
    /** Heartbeat thread only (under {@link #lock}). */
    private long lastPingAt;

    private int unanswered;
    private volatile boolean stopping;
    /** Subscriber thread only: the last attempt failed too (logged once until a subscription is made). */
    private boolean failing;

    private final Thread thread;

    /**
     * @param name    names the thread, the Redis client ({@code CLIENT LIST}) and nothing else
     * @param metrics prefix for {@code <prefix>.invalidations} (messages received),
     *                {@code <prefix>.subscriptions} (made, again included) and {@code <prefix>.listening} (1 or 0)
     */
    public Invalidations(
            Redis redis,
            String channel,
            String name,
            io.dropwizard.util.Duration heartbeat,
            ScheduledExecutorService heartbeats,
            MetricRegistry metrics,
            String prefix) {
        this.redis = redis;
        this.clientConfig = redis.clientConfig("fortress-" + name); // in CLIENT LIST
        this.channel = channel;
        this.heartbeatNanos = heartbeat.toNanoseconds();
        this.heartbeats = heartbeats;
        this.received = metrics.meter(MetricRegistry.name(prefix, "invalidations"));
        this.subscriptions = metrics.meter(MetricRegistry.name(prefix, "subscriptions"));
        metrics.register(MetricRegistry.name(prefix, "listening"), (Gauge<Integer>) () -> listening() ? 1 : 0);
        this.thread = new Thread(this::run, "redis-subscriber-" + name);
        this.thread.setDaemon(true);
    }

    /** The one listener; set before {@link #start}. */
    public void deliverTo(Listener listener) {
        if (this.listener != null) {
            throw new IllegalStateException("invalidations of " + channel + " already go to " + this.listener);
        }
        this.listener = listener;
    }

    /**
     * Whether every message published until a short while ago (at most {@link #STALE_AFTER_HEARTBEATS}
     * heartbeats) has been delivered.
     */
    public boolean listening() {
        if (!subscribed) {
            return false;
        }
        long heard = heardAt;
        return heard > distrustedAt && now() - heard <= STALE_AFTER_HEARTBEATS * heartbeatNanos;
    }

    /** A call to Redis failed: trust nothing heard before now until a PING sent after it is answered. */
    public void distrust() {
        distrustedAt = now();
    }

    @Override
    public void start() {
        if (listener == null) {
            throw new IllegalStateException("no listener for the invalidations of " + channel);
        }
        thread.start();
        heartbeats.scheduleWithFixedDelay(this::heartbeat, heartbeatNanos, heartbeatNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void stop() throws InterruptedException {
        stopping = true; // the heartbeat executor is the lifecycle's to stop
        synchronized (lock) {
            subscribed = false;
            if (connection != null) {
                connection.disconnect(); // unblocks the subscriber thread's read
            }
        }
        thread.interrupt(); // ends its wait between attempts
        thread.join(TimeUnit.SECONDS.toMillis(5));
    }

    /** Nanoseconds since construction, always positive (0 means "never"). */
    private long now() {
        return System.nanoTime() - origin + 1;
    }

    private void run() {
        while (!stopping) {
            Jedis jedis = null;
            Subscriber handler = new Subscriber();
            RuntimeException failure = null;
            try {
                master = redis.findMaster();
                jedis = new Jedis(master, clientConfig);
                jedis.connect();
                synchronized (lock) {
                    if (stopping) {
                        break;
                    }
                    connection = jedis;
                    subscriber = handler;
                    unanswered = 0;
                    lastPingAt = 0;
                }
                jedis.subscribe(handler, channel); // returns when unsubscribed, throws when the connection fails
            } catch (RuntimeException e) {
                failure = e;
            } finally {
                synchronized (lock) {
                    subscribed = false;
                    connection = null;
                    subscriber = null;
                }
                if (handler.made) {
                    listener.lost();
                }
                closeQuietly(jedis);
            }
            if (stopping) {
                break;
            }
            String cause = failure == null ? "unsubscribed by redis" : failure.getMessage();
            if (handler.made) {
                LOG.warn(
                        "subscription to {} on redis at {} lost ({}): the caches it invalidates are not used until "
                                + "it is made again (tried every {} ms)",
                        channel,
                        where(),
                        cause,
                        heartbeatNanos / 1_000_000);
            } else if (!failing) {
                LOG.warn(
                        "cannot subscribe to {} on redis at {} ({}): the caches it invalidates are not used; "
                                + "trying again every {} ms",
                        channel,
                        where(),
                        cause,
                        heartbeatNanos / 1_000_000);
            } else {
                LOG.debug("subscribing to {} failed again: {}", channel, cause);
            }
            failing = true;
            try {
                TimeUnit.NANOSECONDS.sleep(heartbeatNanos);
            } catch (InterruptedException e) {
                break; // stop()
            }
        }
    }

    /** Every heartbeat: a PING on the subscription, or, after too many unanswered, a new subscription. */
    private void heartbeat() {
        try {
            pingOrReconnect();
        } catch (RuntimeException e) {
            // Never thrown out: the executor would run no heartbeat again, and the near-cache stay unused.
            LOG.warn("heartbeat of the subscription to {} failed", channel, e);
        }
    }

    private void pingOrReconnect() {
        synchronized (lock) {
            if (!subscribed || subscriber == null) {
                return;
            }
            HostAndPort now = redis.master();
            if (now != null && !now.equals(master)) {
                LOG.warn(
                        "subscription to {} on redis at {}, but the master is now {}: subscribing there",
                        channel,
                        master,
                        now);
                subscribed = false;
                connection.disconnect(); // the subscriber thread's read fails, and it subscribes again
                return;
            }
            unanswered = lastPingAt > heardAt ? unanswered + 1 : 0;
            if (unanswered >= STALE_AFTER_HEARTBEATS) {
                LOG.warn(
                        "subscription to {} on redis at {}: {} PINGs in a row unanswered, subscribing again",
                        channel,
                        where(),
                        unanswered);
                subscribed = false;
                connection.disconnect(); // the subscriber thread's read fails, and it subscribes again
                return;
            }
            lastPingAt = now();
            try {
                subscriber.ping(Long.toString(lastPingAt));
            } catch (RuntimeException e) {
                // The subscriber thread's read fails too, and it subscribes again.
                LOG.debug("PING on the subscription to {} failed: {}", channel, e.getMessage());
            }
        }
    }

    /** Where the subscription is, or was last tried, for logs. */
    private String where() {
        HostAndPort at = master;
        return at == null ? redis.where() : at.toString();
    }

    private static void closeQuietly(Jedis jedis) {
        if (jedis != null) {
            try {
                jedis.close();
            } catch (RuntimeException ignored) {
                // closing a broken connection
            }
        }
    }

    /** Runs on the subscriber thread. */
    private final class Subscriber extends JedisPubSub {

        /** Redis confirmed the subscription on this connection. */
        boolean made;

        @Override
        public void onSubscribe(String subscribedTo, int count) {
            // Emptied first: whatever was kept may have missed messages while there was no subscription.
            listener.lost();
            made = true;
            failing = false;
            heardAt = now();
            subscribed = true;
            subscriptions.mark();
            LOG.info("subscribed to {} on redis at {}", channel, where());
        }

        @Override
        public void onMessage(String from, String message) {
            received.mark();
            listener.message(message);
        }

        @Override
        public void onPong(String sentAt) {
            try {
                long sent = Long.parseLong(sentAt);
                if (sent > heardAt) {
                    heardAt = sent;
                }
            } catch (NumberFormatException e) {
                LOG.debug("PONG without a time on {}: {}", channel, sentAt);
            }
        }
    }
}
