package dev.fortress.imports;

import com.codahale.metrics.Meter;
import io.dropwizard.servlets.tasks.Task;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.jobrunr.jobs.lambdas.JobRequest;
import org.jobrunr.jobs.lambdas.JobRequestHandler;

/**
 * Deletes imports finished longer than {@code imports.retention} ago (row, organisations, any
 * chunks left), and uploads left 'uploading' longer than {@code imports.abandonAfter} (their
 * instance died while storing them) with their chunks; a batch per transaction, skipping rows a
 * run holds, so it never waits for an import. Run by JobRunr on {@code imports.purgeCron} and by
 * {@code POST :8081/tasks/imports-purge}.
 */
public final class ImportPurge implements JobRequestHandler<ImportPurge.Request> {

    /** Finished imports per transaction: their chunks are gone already (freed when they finished). */
    static final int FINISHED_BATCH = 1_000;
    /** Abandoned uploads per transaction: each may hold up to maxUploadSize of chunks. */
    static final int ABANDONED_BATCH = 4;

    public record Request() implements JobRequest {
        @Override
        public Class<ImportPurge> getJobRequestHandler() {
            return ImportPurge.class;
        }
    }

    /** What one purge deleted. */
    record Purged(long finished, long abandoned) {
        @Override
        public String toString() {
            return "purged " + finished + " finished imports and " + abandoned + " abandoned uploads";
        }
    }

    private final Jdbi writer;
    private final long retentionSeconds;
    private final long abandonSeconds;
    private final Meter purged;

    ImportPurge(Jdbi writer, long retentionSeconds, long abandonSeconds, Meter purged) {
        this.writer = writer;
        this.retentionSeconds = retentionSeconds;
        this.abandonSeconds = abandonSeconds;
        this.purged = purged;
    }

    Purged purge() {
        ImportDao dao = writer.onDemand(ImportDao.class);
        long finished = 0;
        int deleted;
        do {
            deleted = dao.purgeFinished(retentionSeconds, FINISHED_BATCH);
            purged.mark(deleted);
            finished += deleted;
        } while (deleted == FINISHED_BATCH);
        long abandoned = 0;
        do {
            deleted = dao.purgeAbandoned(abandonSeconds, ABANDONED_BATCH);
            purged.mark(deleted);
            abandoned += deleted;
        } while (deleted == ABANDONED_BATCH);
        return new Purged(finished, abandoned);
    }

    @Override
    public void run(Request request) {
        Purged done = purge();
        if (jobContext() != null) {
            jobContext().logger().info(done.toString());
        }
    }

    /** The admin task. */
    Task task() {
        return new Task("imports-purge") {
            @Override
            public void execute(Map<String, List<String>> parameters, PrintWriter output) {
                output.println(purge());
            }
        };
    }
}
