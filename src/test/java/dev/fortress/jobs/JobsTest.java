package dev.fortress.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.testing.Configs;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** JobRunr's own schema set-up, as several instances would run it against one fresh database. */
class JobsTest {

    private static ManagedDataSource pool(TestDatabase db, DataSourceFactory factory, String name) throws Exception {
        return pool(db, factory, name, 2);
    }

    /** A started writer pool of {@code maxSize} on {@code db}, as one instance's JobRunr uses it. */
    static ManagedDataSource pool(TestDatabase db, DataSourceFactory factory, String name, int maxSize)
            throws Exception {
        factory.setDriverClass("org.postgresql.Driver");
        factory.setUrl(db.url());
        factory.setUser(db.user());
        factory.setPassword(db.password());
        factory.setMaxSize(maxSize);
        factory.setMinSize(1);
        factory.setInitialSize(1);
        ManagedDataSource pool = factory.build(new MetricRegistry(), name);
        pool.start();
        return pool;
    }

    /**
     * Set-up runs only under the schema lock, and waits for it as long as another instance holds it.
     * The wait is a statement: under the role's statement_timeout (5 s, the changelog's) a wait past it
     * failed the instance's start, as five fleet instances starting together on a fresh database did.
     */
    @Test
    void setUpWaitsForTheSchemaLockThatAnotherInstanceHoldsPastTheRolesStatementTimeout() throws Exception {
        TestDatabase db = TestDatabase.create();
        DataSourceFactory factory = new DataSourceFactory();
        ManagedDataSource pool = pool(db, factory, "jobs-waiting-long");
        Jobs jobs = new Jobs(Configs.load().getJobs(), pool, factory, Executors.newSingleThreadScheduledExecutor());
        try (org.jdbi.v3.core.Handle other = db.jdbi().open()) {
            assertThat(other.select("show statement_timeout")
                            .mapTo(String.class)
                            .one())
                    .as("the role's statement_timeout, which the wait outlasts")
                    .isEqualTo("5s");
            other.begin();
            other.execute("select pg_advisory_xact_lock(" + Jobs.SCHEMA_LOCK + ")");
            CompletableFuture<Void> start = CompletableFuture.runAsync(() -> {
                try {
                    jobs.start();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            // Past the 5 s, under the role's idle_in_transaction_session_timeout (10 s) of this holder.
            Thread.sleep(6_500);
            assertThat(start)
                    .as("set-up runs only under the lock: still waiting, not failed")
                    .isNotDone();
            other.commit();
            start.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(jobs.scheduler()).isNotNull();
        } finally {
            jobs.stop();
            pool.stop();
        }
    }

    @Test
    void instancesStartingTogetherOnAFreshDatabaseAllComeUp() throws Exception {
        TestDatabase db = TestDatabase.create();
        int instances = 4;
        CyclicBarrier together = new CyclicBarrier(instances);
        List<CompletableFuture<Jobs>> starts = new ArrayList<>();
        List<ManagedDataSource> pools = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
            DataSourceFactory factory = new DataSourceFactory();
            ManagedDataSource pool = pool(db, factory, "jobs-" + i);
            pools.add(pool);
            Jobs jobs = new Jobs(Configs.load().getJobs(), pool, factory, Executors.newSingleThreadScheduledExecutor());
            starts.add(CompletableFuture.supplyAsync(() -> {
                try {
                    together.await();
                    jobs.start();
                    return jobs;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }

        try {
            for (CompletableFuture<Jobs> start : starts) {
                assertThat(start.get().scheduler()).isNotNull();
            }
            Long tables = db.jdbi()
                    .withHandle(h -> h.select(
                                    "select count(*) from information_schema.tables where table_name like 'jobrunr_%'")
                            .mapTo(Long.class)
                            .one());
            assertThat(tables).isGreaterThanOrEqualTo(5);
        } finally {
            for (CompletableFuture<Jobs> start : starts) {
                start.thenAccept(Jobs::stop);
            }
            for (ManagedDataSource pool : pools) {
                pool.stop();
            }
        }
    }
}
