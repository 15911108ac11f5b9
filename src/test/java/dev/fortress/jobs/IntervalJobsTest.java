package dev.fortress.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Await;
import dev.fortress.testing.Configs;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.jobrunr.jobs.lambdas.JobRequest;
import org.jobrunr.jobs.lambdas.JobRequestHandler;
import org.jobrunr.scheduling.RecurringJobBuilder;
import org.junit.jupiter.api.Test;

/**
 * An interval job ({@link Jobs#addEveryInterval}) on two instances of one database, as two workers
 * of the fleet: each enqueues every interval's run, JobRunr keeps one, and it runs once. Once one
 * instance stops, the other goes on enqueuing and running them by itself. A recurring job of the same
 * id, as an earlier release made, is gone once an instance has started.
 */
class IntervalJobsTest {

    private static final String ID = "test-interval";

    /** Counts its runs per job id, for the instance it belongs to. */
    public static final class Counting implements JobRequestHandler<Counting.Request> {

        public record Request() implements JobRequest {
            @Override
            public Class<Counting> getJobRequestHandler() {
                return Counting.class;
            }
        }

        final Map<UUID, AtomicInteger> runs = new ConcurrentHashMap<>();

        @Override
        public void run(Request request) {
            runs.computeIfAbsent(jobContext().getJobId(), id -> new AtomicInteger())
                    .incrementAndGet();
        }
    }

    /** One instance's JobRunr, as a worker of the fleet runs it; stopped once, whoever asks first. */
    private static final class Instance {
        final Jobs jobs;
        final Counting counting = new Counting();
        final ManagedDataSource pool;
        private boolean stopped;

        Instance(TestDatabase db, String name) throws Exception {
            DataSourceFactory factory = new DataSourceFactory();
            pool = JobsTest.pool(db, factory, name, 4);
            jobs = new Jobs(Configs.load().getJobs(), pool, factory, Executors.newSingleThreadScheduledExecutor());
            jobs.addHandler(Counting.class, counting);
            jobs.addEveryInterval(ID, "Test interval job", Duration.ofSeconds(1), new Counting.Request());
        }

        void stop() throws Exception {
            if (!stopped) {
                stopped = true;
                jobs.stop();
                pool.stop();
            }
        }
    }

    @Test
    void twoInstancesRunEachIntervalOnceAndOneGoesOnAloneWhenTheOtherStops() throws Exception {
        TestDatabase db = TestDatabase.create();
        Instance first = new Instance(db, "interval-first");
        Instance second = new Instance(db, "interval-second");
        long startedAt = System.currentTimeMillis();
        try {
            first.jobs.start();
            // What an earlier release left: a recurring job of the interval job's id.
            first.jobs
                    .scheduler()
                    .createRecurrently(RecurringJobBuilder.aRecurringJob()
                            .withId(ID)
                            .withInterval(Duration.ofSeconds(30))
                            .withJobRequest(new Counting.Request()));
            second.jobs.start();
            assertThat(recurringJobs(db))
                    .as("recurring jobs of id " + ID + " once an instance started")
                    .isZero();

            Await.await(
                    "twelve runs of the interval job by the two instances",
                    Duration.ofSeconds(120),
                    () -> runs(first).size() + runs(second).size(),
                    n -> n >= 12);
            first.stop();
            int secondBefore = runs(second).size();
            Await.await(
                    "five runs more by the second instance alone",
                    Duration.ofSeconds(120),
                    () -> runs(second).size(),
                    n -> n >= secondBefore + 5);

            second.stop();
            long intervals = (System.currentTimeMillis() - startedAt) / 1000 + 2;

            Map<UUID, Integer> all = new HashMap<>();
            for (Instance instance : List.of(first, second)) {
                runs(instance).forEach((id, n) -> all.merge(id, n, Integer::sum));
            }
            assertThat(all.values())
                    .as("runs of each interval's job, both instances together")
                    .containsOnly(1);
            List<UUID> succeeded = db.jdbi()
                    .withHandle(h -> h.select(
                                    "select id from jobrunr_jobs where jobsignature like ? and state = 'SUCCEEDED'",
                                    "%Counting%")
                            .mapTo(UUID.class)
                            .list());
            assertThat(succeeded)
                    .as("the jobs that succeeded are the runs counted")
                    .containsExactlyInAnyOrderElementsOf(all.keySet());
            long created = db.jdbi()
                    .withHandle(
                            h -> h.select("select count(*) from jobrunr_jobs where jobsignature like ?", "%Counting%")
                                    .mapTo(Long.class)
                                    .one());
            assertThat(created)
                    .as("jobs enqueued by the two instances, at most one an interval (" + intervals
                            + " intervals began)")
                    .isLessThanOrEqualTo(intervals);
        } finally {
            second.stop();
            first.stop();
        }
    }

    private static Map<UUID, Integer> runs(Instance instance) {
        Map<UUID, Integer> copy = new HashMap<>();
        instance.counting.runs.forEach((id, n) -> copy.put(id, n.get()));
        return copy;
    }

    private static long recurringJobs(TestDatabase db) {
        return db.jdbi()
                .withHandle(h -> h.select("select count(*) from jobrunr_recurring_jobs where id = ?", ID)
                        .mapTo(Long.class)
                        .one());
    }
}
