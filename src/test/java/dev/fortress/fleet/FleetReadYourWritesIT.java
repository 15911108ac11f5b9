package dev.fortress.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Http;
import java.math.BigDecimal;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 24, acceptance 2: a write through one instance is seen by a read through another. Each call
 * goes to an API host's own address (10.77.0.11:8080 for api1, ...), not through the load balancer,
 * so which instance serves it is known. The instances share nothing but PostgreSQL (writes on db1,
 * reads on the standbys db2 and db3) and Redis: the consistency token a write answers must make
 * any instance read at or past it, and a write must invalidate the cached stats every instance reads.
 */
@ExtendWith(Fleet.class)
class FleetReadYourWritesIT {

    /** Well under orgs.statsTtl (300 s): a read that waited out the cache entry would fail. */
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    private static final String TOKEN = "X-Consistency-Token";

    @Test
    void aUserWrittenThroughOneInstanceIsReadThroughAnotherWithItsToken() {
        List<List<String>> pairs = List.of(List.of("api1", "api2"), List.of("api2", "api3"), List.of("api3", "api1"));
        for (List<String> pair : pairs) {
            Http writer = Fleet.api(pair.get(0));
            Http reader = Fleet.api(pair.get(1));
            HttpResponse<String> created = createUser(writer);
            String token =
                    Fleet.header(created, TOKEN).orElseThrow(() -> new AssertionError("no " + TOKEN + " on a 201"));
            long id = ((Number) Http.json(created).get("id")).longValue();

            HttpResponse<String> read = reader.send(HttpRequest.newBuilder(reader.uri("/users/" + id))
                    .header(TOKEN, token)
                    .GET());
            assertThat(read.statusCode())
                    .as(
                            "GET /users/%d through %s with the token %s returned by %s: %s",
                            id, pair.get(1), token, pair.get(0), read.body())
                    .isEqualTo(200);
            assertThat(Http.json(read))
                    .as("the user read through " + pair.get(1))
                    .isEqualTo(Http.json(created));
        }
        Fleet.summary(
                "read your writes",
                "a user written through each of api1, api2, api3 read back through the next "
                        + "one with its consistency token: 200 and the same body, 3 of 3");
    }

    @Test
    void statsCachedForEveryInstanceAreInvalidatedByAWriteThroughAnother() {
        Http api1 = Fleet.api("api1");
        Http api2 = Fleet.api("api2");
        String stats = "/orgs/" + Fleet.ORG + "/stats";
        // Cached: api2 reads them from Redis.
        HttpResponse<String> cached = poll(
                api2, stats, null, r -> "hit".equals(Fleet.header(r, "X-Cache").orElse("")));
        long usersBefore = users(cached);

        HttpResponse<String> created = createUser(api1);
        String token = Fleet.header(created, TOKEN).orElseThrow();
        int[] reads = {0};
        HttpResponse<String> after = poll(api2, stats, token, r -> {
            reads[0]++;
            return users(r) == usersBefore + 1;
        });
        Fleet.summary(
                "stats across instances",
                String.format(
                        "stats of organisation %d cached through api2 (%d users); "
                                + "a user written through api1; api2 then answered %d users (X-Cache: %s) at its read %d after the write",
                        Fleet.ORG,
                        usersBefore,
                        users(after),
                        Fleet.header(after, "X-Cache").orElse("?"),
                        reads[0]));
        assertThat(users(after)).isEqualTo(usersBefore + 1);
    }

    @Test
    void aTransactionWrittenThroughOneInstanceIsInTheSummaryReadThroughAnother() {
        Http api1 = Fleet.api("api1");
        Http api2 = Fleet.api("api2");
        long user = ((Number) Http.json(createUser(api1)).get("id")).longValue();
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        String window = "/transactions/summary?from="
                + now.truncatedTo(ChronoUnit.HOURS).minus(1, ChronoUnit.HOURS) + "&to="
                + now.truncatedTo(ChronoUnit.HOURS).plus(2, ChronoUnit.HOURS);
        HttpResponse<String> before = api2.get(window);
        assertThat(before.statusCode()).as(before.body()).isEqualTo(200);
        long countBefore = count(before);
        BigDecimal sumBefore = sum(before);

        HttpResponse<String> written = api1.postJson(
                "/transactions", "{\"userId\":" + user + ",\"amount\":\"12.34\"," + "\"createdAt\":\"" + now + "\"}");
        assertThat(written.statusCode()).as(written.body()).isEqualTo(201);
        String token = Fleet.header(written, TOKEN).orElseThrow();
        long id = ((Number) Http.json(written).get("id")).longValue();

        HttpResponse<String> listed = api2.send(HttpRequest.newBuilder(api2.uri("/transactions?userId=" + user))
                .header(TOKEN, token)
                .GET());
        assertThat(listed.statusCode()).as(listed.body()).isEqualTo(200);
        assertThat(listed.body())
                .as("the user's transactions read through api2 with the token")
                .contains("\"id\":" + id);
        HttpResponse<String> after = poll(api2, window, token, r -> count(r) == countBefore + 1);
        Fleet.summary(
                "summary across instances",
                String.format(
                        "a transaction of 12.34 written through api1; api2's "
                                + "summary of the hour: %d -> %d transactions, %s -> %s",
                        countBefore, count(after), sumBefore, sum(after)));
        assertThat(count(after)).isEqualTo(countBefore + 1);
        assertThat(sum(after)).isEqualByComparingTo(sumBefore.add(new BigDecimal("12.34")));
    }

    private static HttpResponse<String> createUser(Http api) {
        HttpResponse<String> created = api.postJson(
                "/users",
                "{\"email\":\"ryw-" + UUID.randomUUID() + "@fleet.test\"," + "\"role\":\"member\",\"orgId\":"
                        + Fleet.ORG + ",\"age\":41}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return created;
    }

    /** GETs {@code path} (with {@code token} if any) until an answer is 200 and matches, or the deadline. */
    private static HttpResponse<String> poll(
            Http api, String path, String token, Predicate<HttpResponse<String>> until) {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (true) {
            HttpRequest.Builder request = HttpRequest.newBuilder(api.uri(path)).GET();
            if (token != null) {
                request.header(TOKEN, token);
            }
            HttpResponse<String> response = api.send(request);
            assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(200);
            if (until.test(response)) {
                return response;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        api.uri(path) + " still answers " + response.body() + " after " + DEADLINE.toSeconds() + " s");
            }
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
    }

    private static long users(HttpResponse<String> stats) {
        return ((Number) Http.json(stats).get("users")).longValue();
    }

    private static long count(HttpResponse<String> summary) {
        return ((Number) Http.json(summary).get("count")).longValue();
    }

    private static BigDecimal sum(HttpResponse<String> summary) {
        Map<String, Object> json = Http.json(summary);
        return new BigDecimal(json.get("sum").toString());
    }
}
