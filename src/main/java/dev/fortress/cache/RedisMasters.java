package dev.fortress.cache;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;

/**
 * The master this instance's Redis calls reach, and what runs when that changes. A master a failover
 * promoted may lack the last writes the old one acknowledged (replication is asynchronous): a generation
 * moved, a rate counted, an invalidation published to a subscription on the old one.
 * <p>
 * {@code <prefix>.master-changes} counts the changes seen, and {@code <prefix>.master.<host:port>} is 1
 * for the master calls reach now, 0 for each one they reached before.
 */
final class RedisMasters {

    private static final Logger LOG = LoggerFactory.getLogger(RedisMasters.class);

    private final MetricRegistry metrics;
    private final String prefix;
    private final Meter changes;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    /** Guarded by {@code this}: the masters that have a gauge. */
    private final Set<HostAndPort> seen = new HashSet<>();
    /** Set only after the listeners of its change have run. */
    private volatile HostAndPort current;

    RedisMasters(MetricRegistry metrics, String prefix) {
        this.metrics = metrics;
        this.prefix = prefix;
        this.changes = metrics.meter(MetricRegistry.name(prefix, "master-changes"));
    }

    /** {@code listener} runs, on the thread of the call that first reaches a new master, before that call runs. */
    void onChange(Runnable listener) {
        listeners.add(listener);
    }

    /**
     * A call is about to run on {@code master}. True when it is the first call to reach it since calls
     * reached another one: the listeners have run, and the call should not use what it would read. A
     * call that finds {@code master} current runs after the listeners of its change.
     */
    boolean arrivedAt(HostAndPort master) {
        if (master.equals(current)) {
            return false;
        }
        synchronized (this) {
            HostAndPort before = current;
            if (master.equals(before)) {
                return false; // another call saw the change first, and its listeners have run
            }
            if (seen.add(master)) {
                metrics.register(MetricRegistry.name(prefix, "master", master.toString()), (Gauge<Integer>)
                        () -> master.equals(current) ? 1 : 0);
            }
            if (before != null) {
                LOG.warn(
                        "redis master changed from {} to {}: what this instance learnt from redis may have gaps "
                                + "(replication is asynchronous); the caches distrust it until they have dropped it",
                        before,
                        master);
                listeners.forEach(Runnable::run);
                changes.mark(); // after them: whoever sees the count move sees what they did
            }
            current = master;
            return before != null;
        }
    }

    /** The master calls reached last; null before the first. */
    HostAndPort current() {
        return current;
    }
}
