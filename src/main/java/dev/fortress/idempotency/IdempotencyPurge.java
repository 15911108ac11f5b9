package dev.fortress.idempotency;

import com.codahale.metrics.Meter;
import io.dropwizard.servlets.tasks.Task;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.jobrunr.jobs.lambdas.JobRequest;
import org.jobrunr.jobs.lambdas.JobRequestHandler;

/**
 * Forgets keys older than the retention, a batch per transaction (each deletes at most
 * {@link #BATCH} rows and skips rows a write holds), so it never holds up a write. Run by JobRunr on
 * {@code idempotency.purgeCron} and by {@code POST :8081/tasks/idempotency-purge}.
 */
public final class IdempotencyPurge implements JobRequestHandler<IdempotencyPurge.Request> {

    static final int BATCH = 5_000;

    public record Request() implements JobRequest {
        @Override
        public Class<IdempotencyPurge> getJobRequestHandler() {
            return IdempotencyPurge.class;
        }
    }

    private final Jdbi writer;
    private final long retentionSeconds;
    private final Meter purged;

    IdempotencyPurge(Jdbi writer, long retentionSeconds, Meter purged) {
        this.writer = writer;
        this.retentionSeconds = retentionSeconds;
        this.purged = purged;
    }

    /** Deletes every expired key; returns how many. */
    public long purge() {
        IdempotencyDao dao = writer.onDemand(IdempotencyDao.class);
        long total = 0;
        int deleted;
        do {
            deleted = dao.purge(retentionSeconds, BATCH);
            purged.mark(deleted);
            total += deleted;
        } while (deleted == BATCH);
        return total;
    }

    @Override
    public void run(Request request) {
        long deleted = purge();
        if (jobContext() != null) {
            jobContext().logger().info("purged " + deleted + " expired idempotency keys");
        }
    }

    /** The admin task. */
    Task task() {
        return new Task("idempotency-purge") {
            @Override
            public void execute(Map<String, List<String>> parameters, PrintWriter output) {
                output.println("purged " + purge() + " expired idempotency keys");
            }
        };
    }
}
