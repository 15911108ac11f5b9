package dev.fortress.faults;

import static dev.fortress.testing.ImportStatus.errorLines;
import static dev.fortress.testing.ImportStatus.imported;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.ChildFortress;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 9, scenario 5: a worker JVM killed with SIGKILL in the middle of an import. The API runs
 * in this JVM with {@code jobs.mode: api} (it only enqueues); the jobs run in a child JVM started
 * with {@code JOBS_MODE=worker}. Once some batches are committed the worker is killed; a new
 * worker must find the orphaned job (JobRunr: no heartbeat for 4 poll intervals), resume after
 * the last committed batch, and finish with exact counts and no duplicate rows.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class WorkerKillFaultTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final String REDIS = "redis://127.0.0.1:6379/11";
    private static final DropwizardAppExtension<FortressConfiguration> API =
            FortressApp.on(DB, ConfigOverride.config("jobs.mode", "api"), ConfigOverride.config("redis.url", REDIS));
    private static final Jdbi JDBI = DB.jdbi();
    /** The organisation of the key that uploads the import, and of every row in it. */
    private static final long ORG = 1;

    private static final String KEY = TestKeys.of(DB, ORG);

    private static final int ROWS = 300_000;
    private static final int BATCH_ROWS = 5_000;

    @Test
    void importKilledMidwayFinishesExactlyOnceOnANewWorker() {
        FaultSummary summary = new FaultSummary("worker kill -9 mid-import");
        Csv csv = Csv.generate(new Random(5), ROWS);
        Map<String, String> env = ChildFortress.environment(DB);
        env.put("JOBS_MODE", "worker");
        env.put("JOBS_POLL_INTERVAL", "5s"); // JobRunr's minimum on SQL storage: orphaned after 4 × 5 s
        env.put("IMPORT_BATCH_ROWS", String.valueOf(BATCH_ROWS));
        env.put("REDIS_URL", REDIS);
        env.put("SHUTDOWN_DRAIN_PERIOD", "0s");
        Http api = new Http("127.0.0.1", API.getLocalPort()).as(KEY);

        HttpResponse<String> accepted = upload(csv.bytes());
        summary.record(accepted.statusCode());
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String id = (String) Http.json(accepted).get("importId");
        assertThat(Http.json(api.get("/imports/" + id)))
                .as("no worker yet: the API only enqueued it")
                .containsEntry("status", "queued");

        try (ChildFortress first = ChildFortress.start("worker-1", env)) {
            Map<String, Object> midway =
                    poll(api, id, summary, Duration.ofSeconds(60), s -> imported(s) >= csv.valid() / 3 || finished(s));
            assertThat(midway)
                    .as("the import must still be running when the worker is killed")
                    .containsEntry("status", "processing");
            first.kill9();
            long killedAt = System.nanoTime();
            LockSupport.parkNanos(Duration.ofMillis(300).toNanos()); // a COMMIT already sent still lands
            Map<String, Object> atKill = Http.json(api.get("/imports/" + id));
            summary.record(200);
            assertThat(atKill).containsEntry("status", "processing");
            // One snapshot: the watermark's counters and the rows they count commit together.
            Map<String, Object> committed = JDBI.withHandle(h -> h.select(
                            "select rows_imported, "
                                    + "(select count(*) from users) as users from imports where id = cast(? as uuid)",
                            id)
                    .mapToMap()
                    .one());
            long committedAtKill = ((Number) committed.get("rows_imported")).longValue();
            assertThat(committedAtKill)
                    .as("some, not all, rows committed before the kill")
                    .isGreaterThan(0)
                    .isLessThan(csv.valid());
            assertThat(((Number) committed.get("users")).longValue()).isEqualTo(committedAtKill);

            try (ChildFortress second = ChildFortress.start("worker-2", env)) {
                Map<String, Object> done =
                        poll(api, id, summary, Duration.ofSeconds(90), WorkerKillFaultTest::finished);
                Duration recovery = Duration.ofNanos(System.nanoTime() - killedAt);

                long users = count("select count(*) from users");
                long distinct = count("select count(distinct lower(email)) from users");
                String note = String.format(
                        "%d-row import, %d bad rows, batches of %d; killed at %d rows committed; "
                                + "resumed by a new worker, recovery = kill to succeeded",
                        ROWS, csv.bad().size(), BATCH_ROWS, committedAtKill);
                summary.report(Math.max(0, csv.valid() - users), users - distinct, recovery, note);

                assertThat(done)
                        .as(second.tail(30))
                        .containsEntry("status", "succeeded")
                        .containsEntry("rowsTotal", ROWS)
                        .containsEntry("rowsImported", (int) csv.valid())
                        .containsEntry("rowsRejected", csv.bad().size());
                assertThat(users).as("every valid row, once").isEqualTo(csv.valid());
                assertThat(distinct).as("no duplicate emails").isEqualTo(users);
                assertThat(count("select count(*) from users where email like '%@kill.io'"))
                        .isEqualTo(csv.valid());
                assertThat(errorLines(done))
                        .as("exactly the planted bad lines are reported")
                        .isEqualTo(new ArrayList<>(csv.bad().keySet()));
                assertThat(Http.json(new Http("127.0.0.1", API.getAdminPort()).get("/healthcheck"))
                                .get("jobrunr")
                                .toString())
                        .as("the API instance (jobs.mode api) runs no jobs")
                        .contains("this instance only enqueues");
            }
        }
    }

    /** 9 MB: longer than Http's 10 s deadline allows on a busy two-core machine. */
    private static HttpResponse<String> upload(byte[] csv) {
        try {
            return HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + API.getLocalPort() + "/imports"))
                                    .header("Content-Type", "text/csv")
                                    .header("Authorization", "Bearer " + KEY)
                                    .timeout(Duration.ofSeconds(60))
                                    .POST(HttpRequest.BodyPublishers.ofByteArray(csv))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static boolean finished(Map<String, Object> status) {
        return !"processing".equals(status.get("status")) && !"queued".equals(status.get("status"));
    }

    private static Map<String, Object> poll(
            Http api,
            String id,
            FaultSummary summary,
            Duration timeout,
            java.util.function.Predicate<Map<String, Object>> until) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            HttpResponse<String> response = api.get("/imports/" + id);
            summary.record(response.statusCode());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            Map<String, Object> status = Http.json(response);
            if (until.test(status)) {
                return status;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("import " + id + " still " + status + " after " + timeout);
            }
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
        }
    }

    private static long count(String sql) {
        return JDBI.withHandle(h -> h.select(sql).mapTo(Long.class).one());
    }

    /** A generated CSV of {@code rows} data rows and the lines planted bad (line 1 is the header). */
    record Csv(byte[] bytes, Map<Long, String> bad) {

        long valid() {
            return ROWS - bad.size();
        }

        static Csv generate(Random random, int rows) {
            Map<Long, String> bad = new TreeMap<>();
            // Spread over the whole file, so some land before the kill and some after it.
            while (bad.size() < 24) {
                long line = 3 + random.nextInt(rows - 1);
                bad.put(
                        line,
                        switch (bad.size() % 4) {
                            case 0 -> "email";
                            case 1 -> "age";
                            case 2 -> "role";
                            default -> random.nextBoolean() ? "repeat-near" : "repeat-far";
                        });
            }
            StringBuilder csv = new StringBuilder(rows * 32).append("email,role,org_id,age\n");
            for (long line = 2; line <= rows + 1; line++) {
                String kind = bad.get(line);
                if (kind == null) {
                    csv.append("u")
                            .append(line)
                            .append("@kill.io,member,")
                            .append(ORG)
                            .append(",")
                            .append(18 + line % 60)
                            .append('\n');
                    continue;
                }
                switch (kind) {
                    case "email" ->
                        csv.append("not-an-email-")
                                .append(line)
                                .append(",member,")
                                .append(ORG)
                                .append(",30\n");
                    case "age" ->
                        csv.append("u")
                                .append(line)
                                .append("@kill.io,member,")
                                .append(ORG)
                                .append(",151\n");
                    case "role" ->
                        csv.append("u")
                                .append(line)
                                .append("@kill.io,owner,")
                                .append(ORG)
                                .append(",30\n");
                    default -> {
                        // The email of a valid earlier line: in the same batch, or one committed long before.
                        long earlier = kind.equals("repeat-near") ? line - 1 : Math.max(2, line - 3 * BATCH_ROWS);
                        while (bad.containsKey(earlier)) {
                            earlier--;
                        }
                        csv.append("U")
                                .append(earlier)
                                .append("@KILL.io,viewer,")
                                .append(ORG)
                                .append(",40\n");
                    }
                }
            }
            return new Csv(csv.toString().getBytes(StandardCharsets.UTF_8), bad);
        }
    }
}
