package dev.fortress.jobs;

import io.dropwizard.core.setup.Environment;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.lifecycle.Managed;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jobrunr.jobs.lambdas.JobRequest;
import org.jobrunr.jobs.mappers.JobMapper;
import org.jobrunr.scheduling.JobBuilder;
import org.jobrunr.scheduling.JobRequestScheduler;
import org.jobrunr.scheduling.RecurringJobBuilder;
import org.jobrunr.server.BackgroundJobServer;
import org.jobrunr.server.BackgroundJobServerConfiguration;
import org.jobrunr.server.JobActivator;
import org.jobrunr.storage.JobNotFoundException;
import org.jobrunr.storage.StorageProvider;
import org.jobrunr.storage.StorageProviderUtils.DatabaseOptions;
import org.jobrunr.storage.sql.postgres.PostgresStorageProvider;
import org.jobrunr.utils.mapper.JsonMapper;
import org.jobrunr.utils.mapper.jackson.JacksonJsonMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JobRunr for the whole service, on the WRITER datasource (it must read the node it writes).
 * Built from its parts rather than the static {@code JobRunr.configure()} so that nothing is
 * global: each instance (and each test app) owns its storage, server and dashboard.
 *
 * <p>JobRunr creates and upgrades its own {@code jobrunr_*} tables. Two instances starting at
 * once have raced on that, so the set-up runs under a transaction-scoped advisory lock (which
 * also holds behind PgBouncer in transaction mode): the second instance waits, then finds the
 * tables current.
 *
 * <p>JobRunr (open source) shuts its background server down for good when one heartbeat cannot
 * reach the database (a restart, a PgBouncer restart, a saturated pool): imports would then stay
 * queued until the process restarts. A watchdog starts a new server once the database answers
 * again (the fault suite's writer outage found this).
 *
 * <p>Only JobRunr's master (its oldest live background server) turns recurring jobs into runs, and
 * after the master's host dies another takes its place only once it has missed 4 poll intervals of
 * heartbeats (20 s at the 5 s minimum) plus a poll. A job that must run every few seconds whatever
 * host dies is an interval job instead ({@link #addEveryInterval}): every instance that runs jobs
 * enqueues it for each interval under one id, and JobRunr keeps the first.
 */
public final class Jobs implements Managed {

    private static final Logger LOG = LoggerFactory.getLogger(Jobs.class);
    /** Arbitrary, fixed: "JobRunr schema" for pg_advisory_xact_lock. */
    static final long SCHEMA_LOCK = 0x4a6f6252756e72L;
    /** How long an instance waits for another to create JobRunr's tables, and one may take to create them. */
    private static final String SCHEMA_LOCK_BOUND = "2min";

    private final JobsConfiguration config;
    private final DataSource writer;
    private final DataSourceFactory writerFactory;
    private final JsonMapper json = new JacksonJsonMapper();
    private final Map<Class<?>, Object> handlers = new ConcurrentHashMap<>();
    private final List<RecurringJobBuilder> recurring = new ArrayList<>();
    private final List<IntervalJob> intervalJobs = new ArrayList<>();
    private volatile StorageProvider storage;
    private JobRequestScheduler scheduler;
    private volatile BackgroundJobServer server;
    private volatile boolean stopping;
    /** The interval jobs whose last enqueue failed; only the watchdog's (single) thread uses it. */
    private final Set<String> intervalJobsFailing = new HashSet<>();

    private final ScheduledExecutorService watchdog;
    private JobsDashboard dashboard;

    /**
     * @param writer        the writer pool, which JobRunr uses for everything
     * @param writerFactory the writer's settings, for the one connection outside the pool that
     *                      holds the set-up lock while JobRunr migrates through the pool
     * @param watchdog      runs the check that restarts a stopped background server
     */
    public Jobs(
            JobsConfiguration config,
            DataSource writer,
            DataSourceFactory writerFactory,
            ScheduledExecutorService watchdog) {
        this.config = config;
        this.writer = writer;
        this.writerFactory = writerFactory;
        this.watchdog = watchdog;
    }

    /**
     * JobRunr on the writer pool, tied to the lifecycle, with its statistics as metrics and its
     * {@code jobrunr} health check (background server running, storage readable).
     */
    public static Jobs build(
            JobsConfiguration config, Environment environment, DataSource writer, DataSourceFactory writerFactory) {
        Jobs jobs = new Jobs(
                config,
                writer,
                writerFactory,
                environment
                        .lifecycle()
                        .scheduledExecutorService("jobrunr-watchdog", true)
                        .threads(1)
                        .build());
        environment.lifecycle().manage(jobs);
        JobsMonitor monitor = new JobsMonitor(
                () -> jobs.storage,
                () -> jobs.server != null && jobs.server.isRunning(),
                config.getMode().runsJobs(),
                environment
                        .lifecycle()
                        .executorService("jobrunr-statistics-%d")
                        .minThreads(1)
                        .maxThreads(1)
                        .build());
        monitor.register(environment.metrics());
        environment.healthChecks().register("jobrunr", monitor);
        return jobs;
    }

    /** Makes {@code handler} the instance that runs jobs of its class. Call before start. */
    public <T> void addHandler(Class<T> type, T handler) {
        handlers.put(type, handler);
    }

    /**
     * Creates (or updates, by its id) a recurring job in JobRunr's storage once it has started, on
     * every instance: the first to run it at its time runs it. Call before start.
     */
    public void addRecurring(RecurringJobBuilder job) {
        recurring.add(job);
    }

    /** A job enqueued for each interval by the instances that run jobs: {@link #addEveryInterval}. */
    private record IntervalJob(String id, String name, Duration interval, JobRequest request) {

        /** The job's id for the interval (of the clock's) {@code epochMillis} falls in: the same on every instance. */
        UUID idAt(long epochMillis) {
            long slot = Math.floorDiv(epochMillis, interval.toMillis());
            return UUID.nameUUIDFromBytes((id + "@" + slot).getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Runs {@code request} once every {@code interval}, from whichever instance that runs jobs comes
     * first: each enqueues it for every interval under an id derived from {@code id} and the
     * interval's start, unless a job of that id exists already (JobRunr also keeps only the first of
     * two saved at once), and its own workers take it at once. The runs go on from any live worker
     * within an interval of another's death, where a recurring job waits for JobRunr's next master.
     * A recurring job of the same id (an earlier release's) is deleted at start. Call before start.
     */
    public void addEveryInterval(String id, String name, Duration interval, JobRequest request) {
        intervalJobs.add(new IntervalJob(id, name, interval, request));
    }

    /** Enqueues and schedules jobs; available once started. */
    public JobRequestScheduler scheduler() {
        if (scheduler == null) {
            throw new IllegalStateException("jobs not started");
        }
        return scheduler;
    }

    /**
     * Lets this instance's idle workers look for work now instead of at the next poll (up to
     * {@code pollInterval} later): a job enqueued here starts at once. Other instances still
     * find it on their next poll.
     */
    public void wakeUp() {
        if (server != null && server.isRunning()) {
            // JobRunr onboards new work whenever a worker turns idle; this reports one that did.
            server.getJobSteward().notifyThreadOccupied();
            server.getJobSteward().notifyThreadIdle();
        }
    }

    @Override
    public void start() throws SQLException {
        storage = createStorageSerialised();
        storage.setJobMapper(new JobMapper(json));
        scheduler = new JobRequestScheduler(storage);
        recurring.forEach(scheduler::createRecurrently);
        intervalJobs.forEach(job -> scheduler.deleteRecurringJob(job.id()));
        if (config.getMode().runsJobs()) {
            server = backgroundServer();
            server.start();
            LOG.info(
                    "JobRunr background server started: {} workers, polling every {}",
                    config.getWorkers(),
                    config.getPollInterval());
            long every = config.getPollInterval().toMilliseconds();
            watchdog.scheduleWithFixedDelay(this::restartIfStopped, every, every, TimeUnit.MILLISECONDS);
            intervalJobs.forEach(this::enqueueEachInterval);
        } else {
            LOG.info("JobRunr in API-only mode: jobs are enqueued here and run by worker instances");
        }
        if (config.dashboardEnabled()) {
            dashboard = new JobsDashboard(
                    storage,
                    json,
                    config.getDashboardBindHost(),
                    config.getDashboardPort(),
                    config.getDashboardUser(),
                    config.getDashboardPassword());
            dashboard.start();
            LOG.info("JobRunr dashboard on {} (basic authentication)", dashboard.address());
        } else {
            LOG.warn(
                    "JobRunr dashboard not started: it has no authentication of its own. Set "
                            + "JOBRUNR_DASHBOARD_USER and JOBRUNR_DASHBOARD_PASSWORD to enable it on port {}",
                    config.getDashboardPort());
        }
    }

    private BackgroundJobServer backgroundServer() {
        BackgroundJobServerConfiguration server =
                BackgroundJobServerConfiguration.usingStandardBackgroundJobServerConfiguration()
                        .andWorkerCount(config.getWorkers())
                        .andPollInterval(config.getPollInterval().toJavaDuration());
        String name = config.getServerName();
        return new BackgroundJobServer(
                storage, json, activator(), name == null || name.isBlank() ? server : server.andName(name));
    }

    /**
     * Enqueues {@code job} every interval, the first an interval after the start (as a recurring job's
     * first run comes), plus up to a fifth of one at random per instance, so that instances seldom try
     * at the same moment: the one that comes second in an interval finds the job there and saves
     * nothing.
     */
    private void enqueueEachInterval(IntervalJob job) {
        long period = job.interval().toMillis();
        long offset = ThreadLocalRandom.current().nextLong(Math.max(1, period / 5));
        watchdog.scheduleAtFixedRate(() -> enqueueOnce(job), period + offset, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Enqueues this interval's run of {@code job} unless an instance has. Looked up first although
     * JobRunr skips a second save of one id: that save is an insert PostgreSQL refuses and logs as an
     * ERROR, which every other worker would cause each interval.
     */
    private void enqueueOnce(IntervalJob job) {
        UUID id = job.idAt(System.currentTimeMillis());
        try {
            if (!exists(id)) {
                scheduler.create(JobBuilder.aJob()
                        .withId(id)
                        .withName(job.name())
                        // The next interval's run is the retry.
                        .withAmountOfRetries(0)
                        .withJobRequest(job.request()));
                wakeUp();
            }
            if (intervalJobsFailing.remove(job.id())) {
                LOG.info("{}: the job storage answers again", job.name());
            }
        } catch (RuntimeException e) {
            // The storage is down (a writer outage): the next interval tries again; said once per outage.
            if (intervalJobsFailing.add(job.id())) {
                LOG.warn("{}: not enqueued ({}); tried again each interval", job.name(), e.toString());
            }
        }
    }

    private boolean exists(UUID id) {
        try {
            storage.getJobById(id);
            return true;
        } catch (JobNotFoundException absent) {
            return false;
        }
    }

    /** A server JobRunr stopped by itself is replaced by a new one once its storage answers again. */
    private void restartIfStopped() {
        BackgroundJobServer current = server;
        if (stopping || current == null || current.isRunning()) {
            return;
        }
        try {
            storage.getBackgroundJobServers();
        } catch (RuntimeException stillDown) {
            return; // next round
        }
        try {
            current.stop(); // no-op when JobRunr finished stopping it; else releases what it holds
        } catch (RuntimeException e) {
            LOG.debug("stopping the stopped JobRunr background server: {}", e.toString());
        }
        BackgroundJobServer fresh = backgroundServer();
        fresh.start();
        server = fresh;
        LOG.warn(
                "JobRunr background server {} had stopped (its storage was unreachable); started {} in its place",
                current.getId(),
                fresh.getId());
    }

    @Override
    public void stop() {
        stopping = true;
        watchdog.shutdownNow();
        if (dashboard != null) {
            dashboard.stop();
        }
        if (server != null) {
            server.stop();
        }
        if (storage != null) {
            storage.close();
        }
    }

    private StorageProvider createStorageSerialised() throws SQLException {
        Properties props = new Properties();
        props.putAll(writerFactory.getProperties());
        props.setProperty("user", writerFactory.getUser());
        if (writerFactory.getPassword() != null) {
            props.setProperty("password", writerFactory.getPassword());
        }
        // Not from the pool: JobRunr's set-up needs pool connections while this one waits or holds.
        try (Connection lockHolder = DriverManager.getConnection(writerFactory.getUrl(), props)) {
            lockHolder.setAutoCommit(false);
            try (Statement st = lockHolder.createStatement()) {
                // The role's 5 s statement_timeout and 10 s idle_in_transaction_session_timeout are for
                // requests. Here one instance creates JobRunr's tables while the others wait for the lock,
                // and it holds its transaction idle meanwhile: five instances starting at once on a busy
                // fleet waited longer than 5 s, failed their start and were never ready (.ci/fleet,
                // 2026-12-06 04:25Z). Bounded, so a creation that hangs still ends.
                st.execute("set local statement_timeout = '" + SCHEMA_LOCK_BOUND + "'");
                st.execute("set local idle_in_transaction_session_timeout = '" + SCHEMA_LOCK_BOUND + "'");
                st.execute("select pg_advisory_xact_lock(" + SCHEMA_LOCK + ")");
                PostgresStorageProvider created = new PostgresStorageProvider(writer, DatabaseOptions.CREATE);
                lockHolder.commit();
                return created;
            }
        }
    }

    private JobActivator activator() {
        return new JobActivator() {
            @Override
            public <T> T activateJob(Class<T> type) {
                Object handler = handlers.get(type);
                if (handler == null) {
                    throw new IllegalStateException("no handler registered for job type " + type.getName());
                }
                return type.cast(handler);
            }
        };
    }
}
