package dev.fortress.transactions;

import org.jobrunr.jobs.lambdas.JobRequest;
import org.jobrunr.jobs.lambdas.JobRequestHandler;

/** The recurring JobRunr run of {@link Rollups#run()}. */
public final class RollupJob implements JobRequestHandler<RollupJob.Request> {

    public record Request() implements JobRequest {
        @Override
        public Class<RollupJob> getJobRequestHandler() {
            return RollupJob.class;
        }
    }

    private final Rollups rollups;

    RollupJob(Rollups rollups) {
        this.rollups = rollups;
    }

    @Override
    public void run(Request request) {
        Rollups.Report report = rollups.run();
        if (jobContext() != null) {
            jobContext().logger().info(report.summary());
        }
    }
}
