package dev.fortress.transactions;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.db.Databases;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.jobs.Jobs;
import dev.fortress.ops.WarmupRequest;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.function.Supplier;
import org.jobrunr.scheduling.RecurringJobBuilder;

/** Builds the transactions feature: routes, partition upkeep (start-up, daily job, admin task), its health and metrics. */
public final class Transactions {

    private Transactions() {
    }

    public static Partitions register(TransactionsConfiguration config, Environment environment, Databases databases,
                                      Jobs jobs, IdempotentWrites idempotent) {
        Partitions partitions = new Partitions(databases.writer(), config, Instant::now);
        jobs.register(PartitionMaintenanceJob.class, new PartitionMaintenanceJob(partitions));
        environment.lifecycle().manage(new Managed() {
            @Override
            public void start() {
                partitions.maintain(); // before the first request: the window exists when we serve
                jobs.scheduler().createRecurrently(RecurringJobBuilder.aRecurringJob()
                        .withId("partition-maintenance")
                        .withName("Partition maintenance: transactions")
                        .withCron(config.getMaintenanceCron())
                        .withJobRequest(new PartitionMaintenanceJob.Request()));
            }
        });
        environment.admin().addTask(new PartitionsTask(partitions));
        environment.healthChecks().register("partitions", new PartitionsHealthCheck(databases.writer(), partitions));
        String prefix = "dev.fortress.transactions.partitions";
        environment.metrics().register(MetricRegistry.name(prefix, "attached"), (Gauge<Integer>) () ->
                partitions.last() == null ? 0 : partitions.last().count());
        environment.metrics().register(MetricRegistry.name(prefix, "months-ahead"), (Gauge<Long>) () ->
                partitions.last() == null || partitions.last().last() == null ? 0
                        : Math.max(0, ChronoUnit.MONTHS.between(partitions.currentMonth(), partitions.last().last())));
        environment.jersey().register(new TransactionsResource(databases.reads(TransactionDao.class),
                idempotent, partitions));
        return partitions;
    }

    /** The last hour's summary and list, and a range refused as malformed, for the warm-up. */
    public static Supplier<List<WarmupRequest>> warmup() {
        Supplier<String> lastHour = () -> {
            Instant to = Instant.now().truncatedTo(ChronoUnit.HOURS);
            return "from=" + to.minus(1, ChronoUnit.HOURS) + "&to=" + to;
        };
        return () -> List.of(
                WarmupRequest.get("/transactions/summary", () -> "/transactions/summary?" + lastHour.get(), 200),
                WarmupRequest.get("/transactions", () -> "/transactions?limit=10&" + lastHour.get(), 200),
                WarmupRequest.get("/transactions/summary", () -> "/transactions/summary?from=yesterday", 400));
    }
}
