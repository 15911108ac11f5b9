package dev.fortress.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Await;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 24: {@code kill -9} of the JobRunr master's host. JobRunr's master is the background
 * server that has run longest (the oldest first heartbeat among those alive, in
 * {@code jobrunr_backgroundjobservers}); it alone turns recurring jobs into runs. Once its host is
 * killed, the other worker's server finds it timed out (4 poll intervals without a heartbeat), takes
 * the master's place and schedules the recurring jobs again: a run of the rollups
 * ({@code transaction-rollups}, every {@code transactions.rollupInterval}) created after the kill
 * succeeds on the survivor, and none of the recurring jobs' runs scheduled after the kill fails (the
 * rollups' advisory lock serialises runs that overlap). The host is started again at the end.
 */
@ExtendWith(Fleet.class)
class FleetJobMasterIT {

    private static final String ROLLUPS = "transaction-rollups";

    @Test
    void theRecurringJobsGoOnFromTheOtherWorkerWhenTheMastersHostIsKilled() {
        Jdbi db = Fleet.db();
        String master = master(db).orElseThrow(() -> new AssertionError("no JobRunr background server is alive"));
        assertThat(master)
                .as("the JobRunr master (oldest live background server, named after its host)")
                .isIn(Fleet.WORKERS);
        String survivor = Fleet.WORKERS.stream()
                .filter(w -> !w.equals(master))
                .findFirst()
                .orElseThrow();
        double survivorRuns = Fleet.metric(survivor, "fortress_transactions_rollups_runs_total");
        Timestamp lastBefore = lastRollupSucceeded(db);
        assertThat(lastBefore).as("a rollups run succeeded before the kill").isNotNull();

        Instant killed;
        Timestamp firstAfter;
        Optional<String> masterAfter;
        try {
            Fleet.clusterOk(Duration.ofMinutes(2), "kill", master);
            killed = Instant.now();
            assertThat(Fleet.javaPid(master))
                    .as(master + " runs no JVM after the kill")
                    .isEmpty();
            // JobRunr: a server without a heartbeat for 4 poll intervals (20 s) is gone; then a rollups
            // run is due within an interval (10 s). Three minutes is a deadline for a failure, not a bound.
            firstAfter = Await.await(
                    "a rollups run created after the kill, succeeded",
                    Duration.ofMinutes(3),
                    () -> firstRollupCreatedAfter(db, killed),
                    Objects::nonNull);
            masterAfter = master(db);
        } finally {
            Fleet.clusterOk(Duration.ofMinutes(6), "start", master);
        }

        Duration resumed = Duration.between(killed, firstAfter.toInstant());
        // A run the kill cut off is orphaned and fails (the next run is its retry); those scheduled after it may not.
        long failed = db.withHandle(h -> h.select(
                        "select count(*) from jobrunr_jobs where recurringjobid is not null "
                                + "and state = 'FAILED' and createdat > ?",
                        Timestamp.from(killed))
                .mapTo(Long.class)
                .one());
        double survivorRan = Fleet.metric(survivor, "fortress_transactions_rollups_runs_total") - survivorRuns;
        Fleet.summary(
                "JobRunr master's host killed",
                String.format(
                        "master %s killed; %s master after it: %s; the last "
                                + "rollups run before the kill ended %d s before it, the first one created after it succeeded %d s "
                                + "after it (JobRunr's server timeout: 4 poll intervals of 5 s; rollups every 10 s); %s ran %.0f "
                                + "rollups runs meanwhile; recurring runs scheduled after the kill that failed: %d",
                        master,
                        survivor,
                        masterAfter.orElse("none"),
                        Duration.between(lastBefore.toInstant(), killed).toSeconds(),
                        resumed.toSeconds(),
                        survivor,
                        survivorRan,
                        failed));

        assertThat(masterAfter).as("the JobRunr master after the kill").contains(survivor);
        assertThat(survivorRan)
                .as(survivor + " ran the rollups after the kill (fortress_transactions_rollups_runs_total)")
                .isPositive();
        assertThat(failed)
                .as("recurring job runs scheduled after the kill that failed")
                .isZero();
    }

    /** The live background server that has run longest: JobRunr's master, by its name (the host's). */
    private static Optional<String> master(Jdbi db) {
        return db.withHandle(h -> h.select("select trim(name) from jobrunr_backgroundjobservers where running = 1 "
                        + "and lastheartbeat > (select max(lastheartbeat) from jobrunr_backgroundjobservers) - interval '12 seconds' "
                        + "order by firstheartbeat limit 1")
                .mapTo(String.class)
                .findOne());
    }

    private static Timestamp lastRollupSucceeded(Jdbi db) {
        return db.withHandle(h -> h.select(
                        "select max(updatedat) from jobrunr_jobs where recurringjobid = ? " + "and state = 'SUCCEEDED'",
                        ROLLUPS)
                .mapTo(Timestamp.class)
                .one());
    }

    /** When the first rollups run created after {@code instant} succeeded, or null (none yet). */
    private static Timestamp firstRollupCreatedAfter(Jdbi db, Instant instant) {
        return db.withHandle(h -> h.select(
                        "select min(updatedat) from jobrunr_jobs where recurringjobid = ? "
                                + "and state = 'SUCCEEDED' and createdat > ?",
                        ROLLUPS,
                        Timestamp.from(instant))
                .mapTo(Timestamp.class)
                .one());
    }
}
