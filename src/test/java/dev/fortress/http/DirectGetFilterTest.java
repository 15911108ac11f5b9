package dev.fortress.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * GET /users/{id} and GET /orgs/{id}/stats answered by DirectGetFilter in front of Jersey: the same
 * answers, headers and route metrics as the Jersey resources give, and the requests it is not sure
 * of go on to Jersey.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class DirectGetFilterTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB);
    private static final String ROUTE = "dev.fortress.users.UsersResource.get";

    private final Http api = new Http("127.0.0.1", APP.getLocalPort());
    private final AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());

    private Map<String, Object> created() {
        HttpResponse<String> created = api.postJson("/users",
                "{\"email\":\"filter-" + System.nanoTime() + "@x.io\",\"role\":\"viewer\",\"orgId\":3,\"age\":40}");
        assertThat(created.statusCode()).isEqualTo(201);
        return Http.json(created);
    }

    @Test
    void servesUsersAndMissesWithTheRoutesBodiesHeadersAndMetrics() {
        Map<String, Object> user = created();
        long timed = metrics.timerCount(ROUTE);
        long totals = metrics.timerCount(ROUTE + ".total");
        long filtered = metrics.timerCount(ROUTE + ".request.filtering");
        long ok = metrics.meter(ROUTE + ".2xx-responses");
        long missing = metrics.meter(ROUTE + ".4xx-responses");

        HttpResponse<String> found = api.get("/users/" + user.get("id"));
        assertThat(found.statusCode()).isEqualTo(200);
        assertThat(found.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(found.headers().firstValueAsLong("Content-Length")).hasValue(found.body().length());
        assertThat(Http.json(found)).isEqualTo(user);

        HttpResponse<String> absent = api.get("/users/987654321");
        assertThat(absent.statusCode()).isEqualTo(404);
        assertThat(absent.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(Http.json(absent)).isEqualTo(Map.of("code", 404, "message", "user 987654321 not found"));

        HttpResponse<String> garbage = api.get("/users/abc");
        assertThat(garbage.statusCode()).isEqualTo(404);
        assertThat(Http.json(garbage)).isEqualTo(Map.of("code", 404, "message", "HTTP 404 Not Found"));

        assertThat(metrics.timerCount(ROUTE)).as("the route's timer counted the three requests").isEqualTo(timed + 3);
        assertThat(metrics.timerCount(ROUTE + ".total")).isEqualTo(totals + 3);
        // Jersey times its filters on every request it serves: these three it did not serve.
        assertThat(metrics.timerCount(ROUTE + ".request.filtering")).as("served in front of Jersey")
                .isEqualTo(filtered);
        assertThat(metrics.meter(ROUTE + ".2xx-responses")).isEqualTo(ok + 1);
        assertThat(metrics.meter(ROUTE + ".4xx-responses")).isEqualTo(missing + 2);
        assertThat(metrics.timerCount("dev.fortress.db.reader.UserReadDao.findById")
                + metrics.timerCount("dev.fortress.db.writer.UserReadDao.findById"))
                .as("the read ran through the SQL object and its statement timer").isPositive();
    }

    @Test
    void servesOrgStatsWithTheCacheHeaderAndTheRoutesMetrics() {
        String stats = "dev.fortress.orgs.OrgsResource.stats";
        long ok = metrics.meter(stats + ".2xx-responses");
        long missing = metrics.meter(stats + ".4xx-responses");
        long timed = metrics.timerCount(stats);
        long statsFiltered = metrics.timerCount(stats + ".request.filtering");
        created(); // org 3 gains a user: its entry is invalidated
        HttpResponse<String> first = api.get("/orgs/3/stats");
        HttpResponse<String> second = api.get("/orgs/3/stats");
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("X-Cache")).hasValue("miss");
        assertThat(second.headers().firstValue("X-Cache")).hasValue("hit");
        assertThat(second.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(Http.json(second)).isEqualTo(Http.json(first)).containsEntry("orgId", 3);
        assertThat(api.get("/orgs/three/stats").statusCode()).isEqualTo(404);
        assertThat(metrics.meter(stats + ".2xx-responses")).isEqualTo(ok + 2);
        assertThat(metrics.meter(stats + ".4xx-responses")).isEqualTo(missing + 1);
        assertThat(metrics.timerCount(stats)).isEqualTo(timed + 3);
        assertThat(metrics.timerCount(stats + ".request.filtering")).as("served in front of Jersey")
                .isEqualTo(statsFiltered);
    }

    @Test
    void whatTheFilterIsNotSureOfGoesOnToJerseyWithTheSameAnswers() {
        Map<String, Object> user = created();
        long id = ((Number) user.get("id")).longValue();
        long filtered = metrics.timerCount(ROUTE + ".request.filtering");
        // Percent-encoded digits, a trailing slash: Jersey decodes and matches them as before.
        assertThat(Http.json(api.get("/users/" + encoded(id)))).isEqualTo(user);
        assertThat(Http.json(api.get("/users/" + id + "/"))).isEqualTo(user);
        // An Accept without JSON: Jersey's 406, as before the filter.
        assertThat(api.send(HttpRequest.newBuilder(api.uri("/users/" + id)).header("Accept", "text/plain").GET())
                .statusCode()).isEqualTo(406);
        // Another method on the path: Jersey's 405.
        assertThat(api.send(HttpRequest.newBuilder(api.uri("/users/" + id))
                .method("DELETE", HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(405);
        // A malformed consistency token is ignored (the read goes to the writer), never a 500.
        assertThat(Http.json(api.send(HttpRequest.newBuilder(api.uri("/users/" + id))
                .header("X-Consistency-Token", "not-a-token").GET()))).isEqualTo(user);
        // The first four went on to Jersey, which ran its filters for the three it routed to the method.
        assertThat(metrics.timerCount(ROUTE + ".request.filtering")).as("served by Jersey")
                .isGreaterThanOrEqualTo(filtered + 2);
    }

    private static String encoded(long id) {
        StringBuilder s = new StringBuilder();
        for (char c : Long.toString(id).toCharArray()) {
            s.append('%').append(Integer.toHexString(c).toUpperCase());
        }
        return s.toString();
    }
}
