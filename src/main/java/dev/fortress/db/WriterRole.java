package dev.fortress.db;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which server the writer's connections reach, and whether its commits wait for a standby, as the
 * writer's health check last saw them (every few seconds): after a failover, which node is primary
 * now and whether the margin against losing an acknowledged write is back. {@code
 * dev.fortress.db.writer.primary.<address>} is 1 for the server the writer reaches now and 0 for each
 * one it reached before; {@code dev.fortress.db.writer.synchronous} is 1 while the primary's {@code
 * synchronous_standby_names} names standbys (each commit waits for one), 0 while it names none, -1
 * before the first check or when it failed.
 */
public final class WriterRole {

    private static final Logger LOG = LoggerFactory.getLogger(WriterRole.class);
    static final String PREFIX = "dev.fortress.db.writer";

    private final MetricRegistry metrics;
    /** Guarded by {@code this}: the addresses that have a gauge. */
    private final Set<String> seen = new HashSet<>();

    private volatile String primary;
    private volatile int synchronous = -1;

    public WriterRole(MetricRegistry metrics) {
        this.metrics = metrics;
        metrics.register(MetricRegistry.name(PREFIX, "synchronous"), (Gauge<Integer>) () -> synchronous);
    }

    /**
     * What a check of the writer saw: the server's address ({@code inet_server_addr()}; null over a
     * unix socket) and its {@code synchronous_standby_names}.
     */
    void observe(String address, String synchronousStandbyNames) {
        synchronous = synchronousStandbyNames == null || synchronousStandbyNames.isBlank() ? 0 : 1;
        String now = address == null ? "local" : address;
        if (now.equals(primary)) {
            return;
        }
        synchronized (this) {
            String before = primary;
            if (seen.add(now)) {
                metrics.register(MetricRegistry.name(PREFIX, "primary", now), (Gauge<Integer>)
                        () -> now.equals(primary) ? 1 : 0);
            }
            primary = now;
            if (before != null) {
                LOG.warn(
                        "the writer's connections reach another primary: {} (before: {}); commits {}",
                        now,
                        before,
                        synchronous == 1
                                ? "wait for a standby (" + synchronousStandbyNames + ")"
                                : "wait for no standby");
            }
        }
    }

    /** The check failed: whether commits wait for a standby is unknown now. */
    void unknown() {
        synchronous = -1;
    }

    /** The address of the primary the writer reached last ("local" over a unix socket), or null before the first check. */
    public String primary() {
        return primary;
    }
}
