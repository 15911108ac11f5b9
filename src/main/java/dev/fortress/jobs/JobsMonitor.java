package dev.fortress.jobs;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.health.HealthCheck;
import dev.fortress.ops.BoundedRead;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
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
    private final BoundedRead<JobStats> stats;
    private final BoundedRead<Integer> alive;

    /**
     * @param storage       JobRunr's storage once started, else null
     * @param serverRunning whether this instance's background server runs
     * @param runsJobs      whether this instance is meant to run one (jobs.mode)
     * @param reader        runs the statistics' reads: one thread (the lifecycle's, so it stops
     *                      with the application)
     */
    JobsMonitor(Supplier<StorageProvider> storage, Supplier<Boolean> serverRunning, boolean runsJobs, Executor reader) {
        this.storage = storage;
        this.serverRunning = serverRunning;
        this.runsJobs = runsJobs;
        this.stats = new BoundedRead<>(() -> read(StorageProvider::getJobStats), reader);
        this.alive = new BoundedRead<>(
                () -> {
                    List<BackgroundJobServerStatus> servers = read(StorageProvider::getBackgroundJobServers);
                    // Unreadable storage: no server can be shown alive, and none can take jobs from it.
                    return servers == null
                            ? 0
                            : (int) servers.stream().filter(JobsMonitor::alive).count();
                },
                reader);
    }

    void register(MetricRegistry metrics) {
        STATES.forEach((state, count) ->
                metrics.register(MetricRegistry.name("dev.fortress.jobs.state", state), (Gauge<Long>) () -> {
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
            return Result.unhealthy(
                    "this instance's JobRunr background server is not running; " + alive + " alive in the cluster");
        }
        if (alive == 0) {
            return Result.unhealthy("no JobRunr background server alive: imports stay queued");
        }
        return Result.healthy(
                "%d JobRunr background server(s) alive%s",
                alive, runsJobs ? ", this one included" : " (this instance only enqueues)");
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
        return server.isRunning()
                && server.getLastHeartbeat().isAfter(Instant.now().minus(timeout));
    }
}
