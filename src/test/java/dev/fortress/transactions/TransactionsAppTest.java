package dev.fortress.transactions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The transaction routes over HTTP, with the partitions the service keeps itself, each call with a
 * key of organisation {@link #ORG} unless it says otherwise.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class TransactionsAppTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB);
    /** The organisation of {@code DB.aUser}'s users. */
    private static final long ORG = 1;

    private static final long OTHER_ORG = 2;
    private static long userId;
    private static long otherOrgsUser;
    private static String key;
    private static String otherOrgsKey;

    @BeforeAll
    static void usersAndKeys() {
        userId = DB.aUser("t@x.io");
        otherOrgsUser = DB.jdbi()
                .withHandle(h -> h.createQuery("insert into users (email, role, org_id, age) "
                                + "values ('other-org@x.io', 'member', :org, 30) returning id")
                        .bind("org", OTHER_ORG)
                        .mapTo(Long.class)
                        .one());
        key = TestKeys.of(DB, ORG);
        otherOrgsKey = TestKeys.of(DB, OTHER_ORG);
    }

    private Http api() {
        return api(key);
    }

    private Http api(String as) {
        return new Http("127.0.0.1", APP.getLocalPort()).as(as);
    }

    private HttpResponse<String> post(Object user, String amount, String createdAt) {
        return post(api(), user, amount, createdAt);
    }

    private static HttpResponse<String> post(Http api, Object user, String amount, String createdAt) {
        return api.postJson(
                "/transactions",
                "{\"userId\":" + user + ",\"amount\":\"" + amount + "\",\"createdAt\":\"" + createdAt + "\"}");
    }

    private static long rows() {
        return count("select count(*) from transactions");
    }

    private static long rowsOf(long org) {
        return count("select count(*) from transactions where org_id = ?", org);
    }

    private static long count(String sql, Object... arguments) {
        return DB.jdbi()
                .withHandle(h -> h.select(sql, arguments).mapTo(Long.class).one());
    }

    private static List<Map<String, Object>> list(HttpResponse<String> response) throws Exception {
        return new ObjectMapper().readValue(response.body(), new TypeReference<>() {});
    }

    @Test
    void createListAndSummariseAWindow() throws Exception {
        Instant day = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(3, ChronoUnit.DAYS);
        HttpResponse<String> created =
                post(userId, "12.5", day.plusSeconds(3600).toString());
        post(userId, "0.25", day.plusSeconds(7200).toString());
        post(userId, "-2", day.minus(40, ChronoUnit.DAYS).toString());

        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(Http.json(created))
                .containsEntry("userId", (int) userId)
                .containsEntry("amount", "12.50")
                .containsEntry("createdAt", day.plusSeconds(3600).toString())
                .containsKey("id");

        String window = "from=" + day + "&to=" + day.plus(1, ChronoUnit.DAYS);
        List<Map<String, Object>> listed = list(api().get("/transactions?" + window + "&userId=" + userId));
        assertThat(listed).extracting(t -> t.get("amount")).containsExactly("0.25", "12.50");
        assertThat(list(api().get("/transactions?" + window + "&limit=1"))).hasSize(1);

        Map<String, Object> summary = Http.json(api().get("/transactions/summary?" + window));
        assertThat(summary)
                .isEqualTo(Map.of(
                        "from",
                        day.toString(),
                        "to",
                        day.plus(1, ChronoUnit.DAYS).toString(),
                        "count",
                        2,
                        "sum",
                        "12.75"));
        Map<String, Object> empty =
                Http.json(api().get("/transactions/summary?from=2000-01-01T00:00:00Z" + "&to=2000-02-01T00:00:00Z"));
        assertThat(empty).containsEntry("count", 0).containsEntry("sum", "0.00");
    }

    @Test
    void badInputAnswers4xxWithAClearMessageAndWritesNothing() {
        long before = rows();
        String now = Instant.now().toString();

        HttpResponse<String> outside = post(userId, "1.00", "1999-01-01T00:00:00Z");
        assertThat(outside.statusCode()).isEqualTo(422);
        assertThat(outside.body())
                .contains("createdAt must fall in a month that has a partition, normally ")
                .contains(Partitions.start(YearMonth.now(ZoneOffset.UTC).minusMonths(24))
                        .toString());
        assertThat(post(userId, "1.234", now).statusCode()).isEqualTo(422);
        assertThat(post(userId, "abc", now).body())
                .contains("amount must be a decimal string with at most 12 digits before and 2 after the point");
        HttpResponse<String> noUser = post(987654321, "1.00", now);
        assertThat(noUser.statusCode()).isEqualTo(422);
        assertThat(noUser.body()).isEqualTo("{\"errors\":[\"userId 987654321 does not exist\"]}");
        assertThat(post(userId, "1.00", "yesterday").statusCode()).isEqualTo(400);

        assertThat(api().get("/transactions?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z")
                        .body())
                .isEqualTo("{\"code\":400,\"message\":\"from must be before to\"}");
        assertThat(api().get("/transactions/summary?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z")
                        .statusCode())
                .isEqualTo(400);
        assertThat(api().get("/transactions?from=last-week").statusCode()).isEqualTo(400);
        assertThat(api().get("/transactions?limit=5000").statusCode()).isEqualTo(400);
        assertThat(api().get("/transactions?limit=0").statusCode()).isEqualTo(400);

        assertThat(rows()).isEqualTo(before);
    }

    @Test
    void aTransactionForAnotherOrganisationsUserIs422AsForAMissingUserAndWritesNothing() {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        long crossTenant = metrics.meter("dev.fortress.auth.refused.transactions.cross-tenant");
        long before = rows();
        long othersBefore = rowsOf(OTHER_ORG);

        HttpResponse<String> refused = post(otherOrgsUser, "1.00", Instant.now().toString());

        assertThat(refused.statusCode()).isEqualTo(422);
        assertThat(refused.body()).isEqualTo("{\"errors\":[\"userId " + otherOrgsUser + " does not exist\"]}");
        assertThat(rows()).isEqualTo(before);
        assertThat(rowsOf(OTHER_ORG)).isEqualTo(othersBefore);
        assertThat(count("select count(*) from transactions where user_id = ?", otherOrgsUser))
                .isEqualTo(othersBefore);
        assertThat(metrics.meter("dev.fortress.auth.refused.transactions.cross-tenant"))
                .isEqualTo(crossTenant + 1);
        // The user's own organisation books it.
        assertThat(post(api(otherOrgsKey), otherOrgsUser, "1.00", Instant.now().toString())
                        .statusCode())
                .isEqualTo(201);
        assertThat(rowsOf(OTHER_ORG)).isEqualTo(othersBefore + 1);
    }

    @Test
    void listingsAndSummariesCoverTheCallersOrganisationOnly() throws Exception {
        Instant day = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(9, ChronoUnit.DAYS);
        assertThat(post(userId, "1.10", day.plusSeconds(60).toString()).statusCode())
                .isEqualTo(201);
        assertThat(post(
                                api(otherOrgsKey),
                                otherOrgsUser,
                                "20.00",
                                day.plusSeconds(120).toString())
                        .statusCode())
                .isEqualTo(201);
        assertThat(post(
                                api(otherOrgsKey),
                                otherOrgsUser,
                                "30.00",
                                day.plusSeconds(7200).toString())
                        .statusCode())
                .isEqualTo(201);
        String window = "from=" + day + "&to=" + day.plus(1, ChronoUnit.DAYS);

        List<Map<String, Object>> mine = list(api().get("/transactions?" + window));
        List<Map<String, Object>> theirs = list(api(otherOrgsKey).get("/transactions?" + window));

        assertThat(mine)
                .extracting(t -> t.get("userId"), t -> t.get("amount"))
                .containsExactly(tuple((int) userId, "1.10"));
        assertThat(theirs)
                .extracting(t -> t.get("userId"), t -> t.get("amount"))
                .containsExactly(tuple((int) otherOrgsUser, "30.00"), tuple((int) otherOrgsUser, "20.00"));
        HttpResponse<String> othersUser = api().get("/transactions?" + window + "&userId=" + otherOrgsUser);
        assertThat(othersUser.statusCode()).isEqualTo(200);
        assertThat(list(othersUser)).as("another organisation's user, by id").isEmpty();
        assertThat(Http.json(api().get("/transactions/summary?" + window)))
                .containsEntry("count", 1)
                .containsEntry("sum", "1.10");
        assertThat(Http.json(api(otherOrgsKey).get("/transactions/summary?" + window)))
                .containsEntry("count", 2)
                .containsEntry("sum", "50.00");
        assertThat(count(
                        "select count(*) from transactions where created_at >= ? and created_at < ?",
                        day,
                        day.plus(1, ChronoUnit.DAYS)))
                .as("the rows on the writer")
                .isEqualTo(3);
    }

    @Test
    void theAdminTaskCreatesAPastRangeForBackfills() {
        assertThat(post(userId, "5.00", "2019-06-15T00:00:00Z").statusCode()).isEqualTo(422);

        Http admin = new Http("127.0.0.1", APP.getAdminPort());
        HttpResponse<String> task =
                admin.send(HttpRequest.newBuilder(admin.uri("/tasks/partitions?from=2019-06&to=2019-07"))
                        .POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(task.statusCode()).isEqualTo(200);
        assertThat(task.body()).contains("created [transactions_y2019m06, transactions_y2019m07]");
        assertThat(post(userId, "5.00", "2019-06-15T00:00:00Z").statusCode()).isEqualTo(201);
    }

    @Test
    void theRecurringRollupJobRollsUpWritesByItself() {
        assertThat(post(userId, "3.00", Instant.now().toString()).statusCode()).isEqualTo(201);
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (pendingDeltas() > 0 && System.nanoTime() < deadline) {
            LockSupport.parkNanos(Duration.ofMillis(250).toNanos());
        }
        assertThat(pendingDeltas())
                .as("deltas left a minute after the write (rollupInterval 10s)")
                .isZero();
        assertThat(metrics.meter("dev.fortress.transactions.rollups.runs")).isPositive();
        Map<String, Object> health = Http.json(new Http("127.0.0.1", APP.getAdminPort()).get("/healthcheck"));
        assertThat(((Map<?, ?>) health.get("rollups")).get("healthy")).isEqualTo(true);
    }

    private static long pendingDeltas() {
        return DB.jdbi()
                .withHandle(h -> h.select("select count(*) from transaction_deltas")
                        .mapTo(Long.class)
                        .one());
    }

    @Test
    void partitionHealthAndMetricsShowHeadroom() {
        Map<String, Object> health = Http.json(new Http("127.0.0.1", APP.getAdminPort()).get("/healthcheck"));
        assertThat(((Map<?, ?>) health.get("partitions")).get("healthy")).isEqualTo(true);
        assertThat((String) ((Map<?, ?>) health.get("partitions")).get("message"))
                .contains("3 months ahead");

        Map<?, ?> gauges = (Map<?, ?>) Http.json(new Http("127.0.0.1", APP.getAdminPort()).get("/metrics"))
                .get("gauges");
        assertThat(((Map<?, ?>) gauges.get("dev.fortress.transactions.partitions.months-ahead")).get("value"))
                .isEqualTo(3);
        assertThat(((Number) ((Map<?, ?>) gauges.get("dev.fortress.transactions.partitions.attached")).get("value"))
                        .intValue())
                .isGreaterThanOrEqualTo(28);
    }
}
