package dev.fortress.jobs;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.health.HealthCheck;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jobrunr.storage.BackgroundJobServerStatus;
import org.jobrunr.storage.JobStats;
import org.jobrunr.storage.StorageProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JobRunr as an SRE sees it, from its storage (so across every instance, not just this one):
 * jobs per state ({@code dev.fortress.jobs.state.<state>}), recurring jobs, and background servers
 * alive ({@code dev.fortress.jobs.background-servers}); and the {@code jobrunr} health check. The
 * statistics are one query, read at most once a second however often they are scraped, on a
 * thread of their own: a scrape waits for them a bounded time, so a saturated or unreachable
 * writer (whose pool JobRunr shares) never stalls {@code /metrics} or {@code /prometheus}.
 */
final class JobsMonitor extends HealthCheck {

    private static final Logger LOG = LoggerFactory.getLogger(JobsMonitor.class);

    /** A server is alive while its heartbeat is younger than this many poll intervals (JobRunr's own timeout). */
    private static final int MISSED_HEARTBEATS = 4;

    private static final Map<String, Function<JobStats, Long>> STATES = Map.of(
            "awaiting", JobStats::getAwaiting,
            "scheduled", JobStats::getScheduled,
            "enqueued", JobStats::getEnqueued,
            "processing", JobStats::getProcessing,
            "failed", JobStats::getFailed,
            "succeeded", JobStats::getSucceeded,
            "deleted", JobStats::getDeleted);

    private final Supplier<StorageProvider> storage;
    private final Supplier<Boolean> serverRunning;
    private final boolean runsJobs;
    private final StorageRead<JobStats> stats;
    private final StorageRead<Integer> alive;

    /**
     * @param storage       JobRunr's storage once started, else null
     * @param serverRunning whether this instance's background server runs
     * @param runsJobs      whether this instance is meant to run one (jobs.mode)
     */
    JobsMonitor(Supplier<StorageProvider> storage, Supplier<Boolean> serverRunning, boolean runsJobs) {
        this.storage = storage;
        this.serverRunning = serverRunning;
        this.runsJobs = runsJobs;
        Executor reader = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "jobrunr-statistics");
            t.setDaemon(true);
            return t;
        });
        this.stats = new StorageRead<>(() -> read(StorageProvider::getJobStats), reader);
        this.alive = new StorageRead<>(() -> {
            List<BackgroundJobServerStatus> servers = read(StorageProvider::getBackgroundJobServers);
            // Unreadable storage: no server can be shown alive, and none can take jobs from it.
            return servers == null ? 0 : (int) servers.stream().filter(JobsMonitor::alive).count();
        }, reader);
    }

    /**
     * A value from JobRunr's storage, read at most once a second on {@code reader}. A caller waits
     * for a fresh read at most {@link #WAIT} after that read began, then takes the last value
     * (null when none): one scrape of many gauges waits that long at most, not a pool wait
     * (maxWaitForConnection) per gauge, which under saturation made a scrape take over 10 s.
     */
    static final class StorageRead<T> implements Gauge<T> {

        static final long FRESH_NANOS = TimeUnit.SECONDS.toNanos(1);
        /** Far above a normal read's time, yet a scrape stays well inside Prometheus's timeout. */
        static final long WAIT = TimeUnit.SECONDS.toNanos(1);

        private record Pending(CompletableFuture<Void> done, long waitUntil) {
        }

        private final Supplier<T> load;
        private final Executor reader;
        private final AtomicReference<Pending> pending = new AtomicReference<>();
        private volatile T value;
        private volatile long readAt = System.nanoTime() - FRESH_NANOS;

        StorageRead(Supplier<T> load, Executor reader) {
            this.load = load;
            this.reader = reader;
        }

        @Override
        public T getValue() {
            Pending current = pending.get();
            long now = System.nanoTime();
            if (current == null && now - readAt >= FRESH_NANOS) {
                Pending mine = new Pending(new CompletableFuture<>(), now + WAIT);
                if (pending.compareAndSet(null, mine)) {
                    reader.execute(() -> {
                        try {
                            value = load.get();
                        } finally {
                            readAt = System.nanoTime();
                            pending.set(null);
                            mine.done().complete(null);
                        }
                    });
                }
                current = pending.get();
            }
            if (current != null) {
                long left = current.waitUntil() - System.nanoTime();
                try {
                    if (left > 0) {
                        current.done().get(left, TimeUnit.NANOSECONDS);
                    }
                } catch (TimeoutException | ExecutionException e) {
                    // the last value will do
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return value;
        }
    }

    void register(MetricRegistry metrics) {
        STATES.forEach((state, count) -> metrics.register(MetricRegistry.name("dev.fortress.jobs.state", state),
                (Gauge<Long>) () -> {
                    JobStats current = stats.getValue();
                    return current == null ? null : count.apply(current);
                }));
        metrics.register("dev.fortress.jobs.all-time-succeeded", (Gauge<Long>) () -> {
            JobStats current = stats.getValue();
            return current == null ? null : current.getAllTimeSucceeded();
        });
        metrics.register("dev.fortress.jobs.recurring", (Gauge<Integer>) () -> {
            JobStats current = stats.getValue();
            return current == null ? null : current.getRecurringJobs();
        });
        metrics.register("dev.fortress.jobs.background-servers", alive);
    }

    @Override
    protected Result check() {
        StorageProvider provider = storage.get();
        if (provider == null) {
            return Result.unhealthy("JobRunr not started");
        }
        List<BackgroundJobServerStatus> servers;
        try {
            servers = provider.getBackgroundJobServers();
        } catch (RuntimeException e) {
            return Result.unhealthy("JobRunr storage unreadable on the writer: " + e.getMessage());
        }
        long alive = servers.stream().filter(JobsMonitor::alive).count();
        if (runsJobs && !serverRunning.get()) {
            return Result.unhealthy("this instance's JobRunr background server is not running; "
                    + alive + " alive in the cluster");
        }
        if (alive == 0) {
            return Result.unhealthy("no JobRunr background server alive: imports stay queued");
        }
        return Result.healthy("%d JobRunr background server(s) alive%s", alive,
                runsJobs ? ", this one included" : " (this instance only enqueues)");
    }

    private <T> T read(Function<StorageProvider, T> query) {
        StorageProvider provider = storage.get();
        if (provider == null) {
            return null;
        }
        try {
            return query.apply(provider);
        } catch (RuntimeException e) {
            LOG.debug("JobRunr statistics unreadable", e);
            return null;
        }
    }

    private static boolean alive(BackgroundJobServerStatus server) {
        Duration timeout = Duration.ofSeconds((long) server.getPollIntervalInSeconds() * MISSED_HEARTBEATS);
        return server.isRunning() && server.getLastHeartbeat().isAfter(Instant.now().minus(timeout));
    }
}
