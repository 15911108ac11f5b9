package dev.fortress.transactions;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.db.Databases;
import dev.fortress.http.Routes;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.jobs.Jobs;
import dev.fortress.ops.BoundedRead;
import dev.fortress.ops.WarmupRequest;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.function.LongFunction;
import java.util.function.Supplier;
import org.jobrunr.scheduling.RecurringJobBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transactions feature: routes, partition upkeep (start-up, daily job, admin task), summary
 * rollups (recurring job, admin task), their health and metrics.
 */
public final class Transactions {

    private static final Logger LOG = LoggerFactory.getLogger(Transactions.class);

    /** The rollups' interval job (a recurring job of this id until 2026-12-07). */
    private static final String ROLLUPS_JOB = "transaction-rollups";

    private Transactions() {}

    public static Transactions build(
            TransactionsConfiguration config,
            Environment environment,
            Routes routes,
            Databases databases,
            Jobs jobs,
            IdempotentWrites idempotent) {
        Partitions partitions = new Partitions(databases.writer(), config, Instant::now);
        jobs.addHandler(PartitionMaintenanceJob.class, new PartitionMaintenanceJob(partitions));
        jobs.addRecurring(RecurringJobBuilder.aRecurringJob()
                .withId("partition-maintenance")
                .withName("Partition maintenance: transactions")
                .withCron(config.getMaintenanceCron())
                .withJobRequest(new PartitionMaintenanceJob.Request()));
        environment.lifecycle().manage(new Managed() {
            @Override
            public void start() {
                partitions.maintain(); // before the first request: the window exists when we serve
            }
        });
        environment.admin().addTask(new PartitionsTask(partitions));
        environment.healthChecks().register("partitions", new PartitionsHealthCheck(databases.writer(), partitions));
        String prefix = "dev.fortress.transactions.partitions";
        environment.metrics().register(MetricRegistry.name(prefix, "attached"), (Gauge<Integer>)
                () -> partitions.last() == null ? 0 : partitions.last().count());
        environment.metrics().register(MetricRegistry.name(prefix, "months-ahead"), (Gauge<Long>)
                () -> partitions.last() == null || partitions.last().last() == null
                        ? 0
                        : Math.max(
                                0,
                                ChronoUnit.MONTHS.between(
                                        partitions.currentMonth(),
                                        partitions.last().last())));
        registerRollups(config, environment, databases, jobs);
        routes.resource(new TransactionsResource(
                databases.reads(JdbcTransactionReadDao::new),
                idempotent,
                databases.writer(),
                partitions,
                routes.access().refusals("transactions")));
        return new Transactions();
    }

    /** The rollups that summaries read: interval job, admin task, lag gauge and health check. */
    private static void registerRollups(
            TransactionsConfiguration config, Environment environment, Databases databases, Jobs jobs) {
        String prefix = "dev.fortress.transactions.rollups";
        Rollups rollups = new Rollups(
                databases.writer(),
                Rollups.BATCH,
                environment.metrics().meter(MetricRegistry.name(prefix, "runs")),
                environment.metrics().meter(MetricRegistry.name(prefix, "deltas")),
                config.getJobStatementTimeout());
        jobs.addHandler(RollupJob.class, new RollupJob(rollups));
        // An interval job, not a recurring one: the runs go on within an interval when a worker's host
        // dies, the JobRunr master's included (a recurring job waits 25-35 s for the next master).
        jobs.addEveryInterval(
                ROLLUPS_JOB,
                "Rollups: transaction summaries",
                config.getRollupInterval().toJavaDuration(),
                new RollupJob.Request());
        environment.admin().addTask(new RollupsTask(rollups));
        ExecutorService lagReader = environment
                .lifecycle()
                .executorService("rollups-lag-%d")
                .minThreads(1)
                .maxThreads(1)
                .build();
        BoundedRead<Double> lag = new BoundedRead<>(
                () -> {
                    try {
                        return rollups.lagSeconds();
                    } catch (RuntimeException e) {
                        LOG.debug("rollup lag unreadable", e);
                        return null; // no sample rather than a made-up one
                    }
                },
                lagReader);
        environment.metrics().register(MetricRegistry.name(prefix, "lag-seconds"), lag);
        environment.healthChecks().register("rollups", new RollupsHealthCheck(lag::getValue, config.getRollupMaxLag()));
        environment.metrics().register(MetricRegistry.name(prefix, "max-lag-seconds"), (Gauge<Double>)
                () -> config.getRollupMaxLag().toMilliseconds() / 1000.0);
    }

    /** The last hour's summary and list, and a range refused as malformed, for the warm-up. */
    public LongFunction<List<WarmupRequest>> warmup() {
        Supplier<String> lastHour = () -> {
            Instant to = Instant.now().truncatedTo(ChronoUnit.HOURS);
            return "from=" + to.minus(1, ChronoUnit.HOURS) + "&to=" + to;
        };
        return orgId -> List.of(
                WarmupRequest.get("/transactions/summary", () -> "/transactions/summary?" + lastHour.get(), 200),
                WarmupRequest.get("/transactions", () -> "/transactions?limit=10&" + lastHour.get(), 200),
                WarmupRequest.get("/transactions/summary", () -> "/transactions/summary?from=yesterday", 400));
    }
}
