package dev.fortress.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code JOBS_MODE=worker}: the instance runs jobs and serves no API. Its application port answers
 * readiness only; its admin port has health, metrics and tasks as on any instance.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class WorkerModeTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP =
            FortressApp.on(DB, ConfigOverride.config("jobs.mode", "worker"));

    /** A key with every scope: the routes are absent, not refused. */
    private static final String KEY = TestKeys.of(DB, 1);

    private Http api() {
        return new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
    }

    private Http admin() {
        return new Http("127.0.0.1", APP.getAdminPort());
    }

    @Test
    void servesNoApiRouteAndWritesNothing() {
        long users = userCount();

        assertThat(api().get("/users/1").statusCode()).isEqualTo(404);
        assertThat(api().get("/orgs/1/stats").statusCode()).isEqualTo(404);
        assertThat(api().get("/transactions?limit=1").statusCode()).isEqualTo(404);
        assertThat(api().get("/transactions/summary?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z")
                        .statusCode())
                .isEqualTo(404);
        assertThat(api().postJson("/users", "{\"email\":\"w@x.io\",\"role\":\"member\",\"orgId\":1,\"age\":30}")
                        .statusCode())
                .isEqualTo(404);
        assertThat(api().postJson("/transactions", "{\"userId\":1,\"amount\":\"1.00\"}")
                        .statusCode())
                .isEqualTo(404);
        assertThat(api().anonymous().get("/users/1").statusCode())
                .as("without a key too")
                .isEqualTo(404);

        assertThat(userCount()).as("no write reached the database").isEqualTo(users);
    }

    private static long userCount() {
        return DB.jdbi()
                .withHandle(h ->
                        h.select("select count(*) from users").mapTo(Long.class).one());
    }

    @Test
    void answersReadinessHealthMetricsAndTasks() {
        assertThat(api().get("/health-check").statusCode()).isEqualTo(200);
        Map<String, Object> health = Http.json(admin().get("/healthcheck"));
        assertThat((String) ((Map<?, ?>) health.get("jobrunr")).get("message"))
                .contains("JobRunr background server(s) alive");
        assertThat(admin().get("/prometheus").statusCode()).isEqualTo(200);
        assertThat(admin().postJson("/tasks/partitions", "").statusCode()).isEqualTo(200);
    }

    @Test
    void runsTheJobs() {
        // The rollups are an interval job: a worker that runs jobs moves the deltas the writes left.
        long user = DB.aUser("job@x.io");
        DB.jdbi()
                .useHandle(h -> h.execute(
                        "insert into transactions (org_id, user_id, amount, created_at) "
                                + "select org_id, id, 5.00, now() from users where id = ?",
                        user));
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (metrics.meter("dev.fortress.transactions.rollups.deltas") == 0 && System.nanoTime() < deadline) {
            LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
        }
        assertThat(metrics.meter("dev.fortress.transactions.rollups.deltas"))
                .as("deltas rolled up by the job")
                .isPositive();
    }
}
