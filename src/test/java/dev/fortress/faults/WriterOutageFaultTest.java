package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FaultLoad;
import dev.fortress.testing.FaultLoad.Call;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.FaultUsers;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedRedis;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 1 of the fault suite: the writer unreachable for 10 s under load (a proxy in front of
 * it refuses connections and drops the open ones). Writes answer 503 + Retry-After within the
 * pool's wait bound, reads (on the reader) keep answering, the service resumes by itself, and no
 * write that answered 201 is missing.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class WriterOutageFaultTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TcpProxy WRITER = new TcpProxy(DB.host(), DB.port());
    private static final OwnedRedis REDIS = new OwnedRedis();
    private static final DropwizardAppExtension<FortressConfiguration> APP =
            FortressApp.on(DB, WRITER.jdbcUrl(DB.name()), DB.url(), REDIS.override());

    private static final Duration OUTAGE = Duration.ofSeconds(10);
    /** Slack over the configured wait bound; more if even reads were that slow (a loaded 2-core runner). */
    private static final Duration SLACK = Duration.ofSeconds(1);

    @Test
    void writerUnreachableFor10sAnswers503WithinTheWaitBoundLosesNoWriteAndRecoversByItself() throws Exception {
        Duration maxWait = APP.getConfiguration()
                .getWriterDatabase()
                .getMaxWaitForConnection()
                .toJavaDuration();
        long org = FaultUsers.freshOrg();
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, org));
        FaultUsers users = new FaultUsers(api, org);

        FaultSummary summary = new FaultSummary("1. writer unreachable 10 s");
        FaultLoad load = FaultLoad.start(summary, 8, users.createsAndReads(2));
        FaultLoad.hold(Duration.ofSeconds(2));
        long cutStarted = System.nanoTime();
        WRITER.cut();
        long cut = System.nanoTime();
        FaultLoad.hold(OUTAGE);
        WRITER.restore();
        long restored = System.nanoTime();
        Call firstCreated = load.await(restored, c -> c.status() == 201, Duration.ofSeconds(10))
                .orElse(null);
        FaultLoad.hold(Duration.ofSeconds(2));
        List<Call> calls = load.stop();

        FaultUsers.Rows rows = users.verify(DB.jdbi(), calls);
        Duration recovery = firstCreated == null ? null : Duration.ofNanos(firstCreated.ended() - restored);
        List<Call> errors = calls.stream().filter(c -> !c.ok()).toList();
        Duration bound = maxWait.plus(FaultLoad.stall(calls, c -> c.route().startsWith("GET"), SLACK));
        long unknown = errors.stream().filter(c -> c.started() <= cut).count();
        summary.report(
                rows.lost(),
                rows.duplicated(),
                recovery,
                String.format(
                        "%d x 503 + Retry-After, slowest %d ms; max latency %d ms (bound %d ms); reads 200 throughout; "
                                + "%d writes under way at the cut answered 503 with their outcome unknown: %d committed, "
                                + "every later 503 absent; an import after it succeeds",
                        errors.size(),
                        FaultLoad.maxLatency(errors).toMillis(),
                        FaultLoad.maxLatency(calls).toMillis(),
                        bound.toMillis(),
                        unknown,
                        rows.committedDespiteError().size()));

        assertThat(errors).as("the outage was felt").isNotEmpty();
        assertThat(errors)
                .as("every error is a write answered 503 with Retry-After: 1")
                .allMatch(c -> c.route().equals(FaultUsers.ROUTE) && c.status() == 503 && "1".equals(c.retryAfter()));
        assertThat(errors)
                .as("errors only while the writer was away, or for writes under way at the cut")
                .allMatch(c -> c.ended() >= cutStarted && c.started() <= restored);
        assertThat(FaultLoad.maxLatency(calls))
                .as("no request waits longer than maxWaitForConnection + slack")
                .isLessThanOrEqualTo(bound);
        assertThat(calls)
                .filteredOn(c -> c.route().startsWith("GET"))
                .as("reads do not need the writer")
                .isNotEmpty()
                .allMatch(c -> c.status() == 200);
        assertThat(firstCreated)
                .as("writes succeed again by themselves after the restore")
                .isNotNull();
        assertThat(calls)
                .filteredOn(c -> c.started() >= firstCreated.ended())
                .as("and keep succeeding")
                .isNotEmpty()
                .allMatch(Call::ok);

        assertThat(rows.lost()).as("every 201 is in the database").isZero();
        assertThat(rows.duplicated()).isZero();
        // A write whose statement had reached PostgreSQL when the link went may have committed, and
        // its 503 then means "outcome unknown" (its retry gets a 409 for its own email). That can only
        // be a write under way at the cut; a 503 for a write that started later never ran a statement.
        assertThat(rows.committedDespiteError())
                .as("writes that answered an error but are in the database")
                .allMatch(c -> c.started() <= cut);
        assertThat(rows.committedDespiteError().size()).isLessThanOrEqualTo(8);

        nothingElseBroke(api, org);
    }

    /** After the outage the rest of the service works too: health is green and an import runs to the end. */
    private static void nothingElseBroke(Http api, long org) {
        Http admin = new Http("127.0.0.1", APP.getAdminPort());
        await(() -> admin.get("/healthcheck").statusCode() == 200, "all health checks pass again");
        HttpResponse<String> accepted = api.send(HttpRequest.newBuilder(api.uri("/imports"))
                .header("Content-Type", "text/csv")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "email,role,org_id,age\nfault-import-" + System.nanoTime() + "@x.io,viewer," + org + ",40\n")));
        assertThat(accepted.statusCode()).isEqualTo(202);
        String id = (String) Http.json(accepted).get("importId");
        await(
                () -> "succeeded".equals(Http.json(api.get("/imports/" + id)).get("status")),
                "an import after the outage succeeds (JobRunr survived it)");
        Map<String, Object> status = Http.json(api.get("/imports/" + id));
        assertThat(status).containsEntry("rowsImported", 1);
    }

    private static void await(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
        }
    }
}
