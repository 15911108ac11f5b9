package dev.fortress.transactions;

import com.codahale.metrics.health.HealthCheck;
import java.time.YearMonth;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/** Unhealthy when next month has no partition: inserts for it would be refused. Never throws. */
public final class PartitionsHealthCheck extends HealthCheck {

    private final Jdbi jdbi;
    private final Partitions partitions;

    PartitionsHealthCheck(Jdbi jdbi, Partitions partitions) {
        this.jdbi = jdbi;
        this.partitions = partitions;
    }

    @Override
    protected Result check() {
        try {
            List<YearMonth> present = jdbi.withExtension(PartitionsDao.class, PartitionsDao::present);
            YearMonth now = partitions.currentMonth();
            long ahead = present.stream().filter(m -> m.isAfter(now)).count();
            if (ahead < 1) {
                return Result.unhealthy(
                        "no partition for %s: transactions for next month will be refused. "
                                + "Run POST :8081/tasks/partitions and check the partition job in the JobRunr dashboard",
                        now.plusMonths(1));
            }
            return Result.healthy(
                    "%d partitions, %s to %s; %d months ahead",
                    present.size(), present.get(0), present.get(present.size() - 1), ahead);
        } catch (RuntimeException e) {
            return Result.unhealthy("cannot read the partitions of transactions: %s", e.getMessage());
        }
    }
}
