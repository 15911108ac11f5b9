package dev.fortress.transactions;

import org.jobrunr.jobs.lambdas.JobRequest;
import org.jobrunr.jobs.lambdas.JobRequestHandler;

/** The daily JobRunr run of {@link Partitions#maintain()}. */
public final class PartitionMaintenanceJob implements JobRequestHandler<PartitionMaintenanceJob.Request> {

    public record Request() implements JobRequest {
        @Override
        public Class<PartitionMaintenanceJob> getJobRequestHandler() {
            return PartitionMaintenanceJob.class;
        }
    }

    private final Partitions partitions;

    PartitionMaintenanceJob(Partitions partitions) {
        this.partitions = partitions;
    }

    @Override
    public void run(Request request) {
        Partitions.Report report = partitions.maintain();
        if (jobContext() != null) {
            jobContext().logger().info(report.summary());
        }
    }
}
