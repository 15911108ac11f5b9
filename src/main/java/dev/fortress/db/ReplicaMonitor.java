package dev.fortress.db;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import io.dropwizard.lifecycle.Managed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Measures, on a schedule, how far one replica is behind the writer (WAL bytes not yet replayed,
 * and seconds since the last replayed transaction while there is something to replay) and
 * decides whether reads may use it. Unreachable or lagging past the bounds: reads go to the
 * writer until it has caught up. Each change of mind is logged once. A reader that is not a
 * standby counts as never behind when it is the only reader (a laptop's single server); among
 * several (a fleet whose primary may be any of its database hosts) it is the primary of the moment
 * and takes no reads, the writer's pool being its way in, without counting as a fault.
 */
public final class ReplicaMonitor implements Managed {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaMonitor.class);

    private final Jdbi writer;
    private final Jdbi reader;
    private final ReplicaConfiguration config;
    private final String name;
    private final WriterPosition writerPosition;
    private final boolean onlyReader;
    private final ScheduledExecutorService schedule;
    private ScheduledFuture<?> checks;
    private volatile boolean usable = true;
    private volatile boolean standby;
    /** Among several readers, this one is not a standby now: it is the primary (see the class comment). */
    private volatile boolean primaryAmongReaders;

    private volatile long lagBytes;
    private volatile double lagSeconds;
    /**
     * The reader's replay position as a number (see {@link ConsistencyToken}), compared unsigned as
     * LSNs are; Long.MAX_VALUE for a primary, past any position a server reaches in practice.
     */
    private volatile long replayed;

    private volatile String reason = "not measured yet";

    /**
     * @param name     the replica as {@code host:port}: its metrics are
     *                 {@code dev.fortress.db.replica.<name>.*} (label {@code replica} in Prometheus)
     * @param schedule runs the checks between {@link #start()} and {@link #stop()}; its owner
     *                 shuts it down (the application's lifecycle, see {@link Databases})
     */
    public ReplicaMonitor(
            Jdbi writer,
            Jdbi reader,
            ReplicaConfiguration config,
            MetricRegistry metrics,
            String name,
            ScheduledExecutorService schedule) {
        this(writer, reader, config, metrics, name, new WriterPosition(null, new Meter()), true, schedule);
    }

    /**
     * @param writerPosition told the writer's position each check measures (the replicas' monitors
     *                       share one), against which consistency tokens are checked
     * @param onlyReader     the reader is the only one configured: it serves reads even when it is not
     *                       a standby
     */
    public ReplicaMonitor(
            Jdbi writer,
            Jdbi reader,
            ReplicaConfiguration config,
            MetricRegistry metrics,
            String name,
            WriterPosition writerPosition,
            boolean onlyReader,
            ScheduledExecutorService schedule) {
        this.onlyReader = onlyReader;
        this.writerPosition = writerPosition;
        this.writer = writer;
        this.reader = reader;
        this.config = config;
        this.name = name;
        this.schedule = schedule;
        String prefix = MetricRegistry.name("dev.fortress.db.replica", name);
        metrics.register(MetricRegistry.name(prefix, "lag-bytes"), (Gauge<Long>) () -> lagBytes);
        metrics.register(MetricRegistry.name(prefix, "lag-seconds"), (Gauge<Double>) () -> lagSeconds);
        metrics.register(MetricRegistry.name(prefix, "in-use"), (Gauge<Integer>) () -> usable ? 1 : 0);
        // 1 while this reader is the primary among several (out of use by design, not a fault).
        metrics.register(MetricRegistry.name(prefix, "primary"), (Gauge<Integer>) () -> primaryAmongReaders ? 1 : 0);
        // The bounds beside the lag, so an alert compares the two without repeating the configuration.
        metrics.register(MetricRegistry.name(prefix, "max-lag-bytes"), (Gauge<Long>)
                () -> config.getMaxLag().toBytes());
        metrics.register(MetricRegistry.name(prefix, "max-lag-seconds"), (Gauge<Double>)
                () -> config.getMaxLagTime().toMilliseconds() / 1000.0);
    }

    @Override
    public void start() {
        check();
        long every = config.getCheckInterval().toMilliseconds();
        checks = schedule.scheduleWithFixedDelay(this::check, every, every, TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        if (checks != null) {
            checks.cancel(true);
        }
    }

    /** May reads without a consistency token use this replica now? */
    public boolean usable() {
        return usable;
    }

    /** Has the reader replayed the writer's WAL at least up to {@code token}? */
    public boolean replayedPast(ConsistencyToken token) {
        return usable && Long.compareUnsigned(replayed, token.position()) >= 0;
    }

    /** Why reads avoid this reader because something is wrong, or null (in use, or the primary now). */
    public String degradedReason() {
        return usable || primaryAmongReaders ? null : reason;
    }

    /**
     * A read just failed on the reader because it is unreachable: stop sending reads there now
     * rather than at the next check, which brings them back once it answers again.
     */
    public void readerFailed(Throwable error) {
        String why = "replica unreachable: " + SqlStates.rootMessage(error);
        synchronized (this) {
            if (!usable) {
                return;
            }
            reason = why;
            usable = false;
        }
        LOG.warn("replica {}: reads avoid it: {}", name, why);
    }

    /** Measures now; the schedule calls it, and tests may. */
    public void check() {
        boolean ok;
        String why;
        try {
            ReplicaLagDao.Replay replica = reader.withExtension(ReplicaLagDao.class, ReplicaLagDao::replay);
            standby = replica.standby();
            primaryAmongReaders = !standby && !onlyReader;
            if (primaryAmongReaders) {
                lagBytes = 0;
                lagSeconds = 0;
                replayed = 0;
                ok = false;
                why = "it is the primary now: reads go to the standbys, writes reach it through the writer's pool";
            } else if (!standby) {
                lagBytes = 0;
                lagSeconds = 0;
                replayed = Long.MAX_VALUE;
                ok = true;
                why = null;
            } else {
                String replayedLsn = replica.replayed();
                long replayedAt = ConsistencyToken.parse(replayedLsn).position();
                long bytes;
                try {
                    long written = ConsistencyToken.parse(
                                    writer.withExtension(ReplicaLagDao.class, ReplicaLagDao::writerPosition))
                            .position();
                    writerPosition.observe(written);
                    bytes = written - replayedAt; // pg_wal_lsn_diff: LSNs are byte positions
                } catch (RuntimeException writerDown) {
                    // No writer, no new writes: the replica cannot fall further behind, and it is all there is.
                    bytes = lagBytes;
                }
                boolean idle = Boolean.TRUE.equals(replica.idle());
                lagBytes = Math.max(0, bytes);
                lagSeconds = idle && bytes <= 0 ? 0 : replica.seconds();
                replayed = replayedAt;
                ok = lagBytes <= config.getMaxLag().toBytes()
                        && lagSeconds <= config.getMaxLagTime().toSeconds();
                why = ok
                        ? null
                        : String.format(
                                "replica %d bytes and %.1f s behind (bounds %s, %s)",
                                lagBytes, lagSeconds, config.getMaxLag(), config.getMaxLagTime());
            }
        } catch (RuntimeException e) {
            ok = false;
            primaryAmongReaders = false;
            why = "replica unreachable: " + SqlStates.rootMessage(e);
        }
        if (ok != usable) {
            if (ok) {
                LOG.info("replica {}: reads return to it: it has caught up", name);
            } else {
                LOG.warn("replica {}: reads avoid it: {}", name, why);
            }
        }
        reason = why;
        usable = ok;
    }
}
