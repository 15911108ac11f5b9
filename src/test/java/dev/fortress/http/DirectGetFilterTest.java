package dev.fortress.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.auth.Scopes;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * GET /users/{id} and GET /orgs/{id}/stats answered by DirectGetFilter in front of Jersey: the same
 * requests through the filter and through Jersey (an {@code Accept} header the filter leaves to
 * Jersey's negotiation sends them there) give the same status, headers and body, for a hit, a miss,
 * an id that is no number, another organisation's data, no key, a malformed or unknown key, a key
 * without the scope, and a database that is down; and the route's metrics count the filter's
 * requests as Jersey would. The database sits behind a proxy the last test cuts.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DirectGetFilterTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TcpProxy DATABASE = new TcpProxy(DB.host(), DB.port());
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            DATABASE.jdbcUrl(DB.name()),
            DATABASE.jdbcUrl(DB.name()),
            // A Redis database of its own: it expects a miss, then a hit, on organisations whose
            // stats other classes cache under the same keys (each from its own database).
            ConfigOverride.config("redis.url", "redis://127.0.0.1:6379/12"));
    private static final String ROUTE = "dev.fortress.users.UsersResource.get";
    private static final long ORG = 3;
    private static final long OTHER = 4;
    /** An Accept header the filter leaves to Jersey, and that Jersey answers with JSON. */
    private static final String TO_JERSEY = "application/json;q=0.9";
    /** The headers that must agree (Date and Content-Length follow from the rest). */
    private static final List<String> COMPARED = List.of("content-type", "www-authenticate", "retry-after", "x-cache");

    private final Http anonymous = new Http("127.0.0.1", APP.getLocalPort());
    private final Http api = anonymous.as(TestKeys.of(DB, ORG));
    private final AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());

    @AfterAll
    static void closeProxy() {
        DATABASE.close();
    }

    private Map<String, Object> created(Http caller, long org) {
        HttpResponse<String> created = caller.postJson(
                "/users",
                "{\"email\":\"filter-" + System.nanoTime() + "@x.io\",\"role\":\"viewer\",\"orgId\":" + org
                        + ",\"age\":40}");
        assertThat(created.statusCode()).isEqualTo(201);
        return Http.json(created);
    }

    /** Status, compared headers and body of {@code path} for {@code caller}, through the filter or Jersey. */
    private static String answer(Http caller, String path, boolean throughJersey) {
        HttpRequest.Builder request = HttpRequest.newBuilder(caller.uri(path)).GET();
        if (throughJersey) {
            request.header("Accept", TO_JERSEY);
        }
        HttpResponse<String> answer = caller.send(request);
        Map<String, List<String>> headers = new TreeMap<>();
        answer.headers().map().forEach((name, values) -> {
            if (COMPARED.contains(name.toLowerCase())) {
                headers.put(name.toLowerCase(), values);
            }
        });
        return answer.statusCode() + " " + headers + " " + answer.body();
    }

    /** Each request once through the filter, once through Jersey: the answers are equal, and Jersey's filters ran only for the second. */
    private void sameThroughBoth(Map<String, Http> callers, String path, String timer) {
        for (Map.Entry<String, Http> caller : callers.entrySet()) {
            long jersey = metrics.timerCount(timer + ".response.filtering");
            String filtered = answer(caller.getValue(), path, false);
            assertThat(metrics.timerCount(timer + ".response.filtering"))
                    .as("served in front of Jersey")
                    .isEqualTo(jersey);
            String routed = answer(caller.getValue(), path, true);
            assertThat(metrics.timerCount(timer + ".response.filtering"))
                    .as("served by Jersey")
                    .isEqualTo(jersey + 1);
            assertThat(filtered)
                    .as("GET " + path + " with " + caller.getKey() + ": the filter's answer is Jersey's")
                    .isEqualTo(routed);
        }
    }

    private Map<String, Http> callers() {
        Map<String, Http> callers = new LinkedHashMap<>();
        callers.put("the organisation's key", api);
        callers.put("another organisation's key", anonymous.as(TestKeys.of(DB, OTHER)));
        callers.put("no key", anonymous);
        callers.put("a malformed key", anonymous.as("garbage"));
        callers.put("an unknown key", anonymous.as(TestKeys.of(DB, ORG).replaceFirst("fk_.", "fk_0")));
        callers.put("a key without read", anonymous.as(TestKeys.of(DB, ORG, Scopes.WRITE)));
        return callers;
    }

    @Test
    @Order(1)
    void usersAnswerTheSameThroughTheFilterAndThroughJersey() {
        Map<String, Object> user = created(api, ORG);
        Map<String, Object> others = created(anonymous.as(TestKeys.of(DB, OTHER)), OTHER);

        for (String path : List.of(
                "/users/" + user.get("id"),
                "/users/" + others.get("id"),
                "/users/987654321",
                "/users/abc",
                "/users/-1",
                "/users/99999999999999999999")) {
            sameThroughBoth(callers(), path, ROUTE);
        }
        assertThat(answer(api, "/users/" + user.get("id"), false))
                .startsWith("200 ")
                .endsWith(" " + Json.of(user));
        assertThat(answer(api, "/users/" + others.get("id"), false))
                .endsWith("{\"code\":404,\"message\":\"user " + others.get("id") + " not found\"}");
    }

    @Test
    @Order(2)
    void orgStatsAnswerTheSameThroughTheFilterAndThroughJersey() {
        String stats = "dev.fortress.orgs.OrgsResource.stats";
        created(api, ORG);
        assertThat(answer(api, "/orgs/" + ORG + "/stats", false))
                .as("the first read fills the cache")
                .contains("x-cache=[miss]");
        answer(anonymous.as(TestKeys.of(DB, OTHER)), "/orgs/" + OTHER + "/stats", false); // so is the other's
        for (String path : List.of("/orgs/" + ORG + "/stats", "/orgs/" + OTHER + "/stats", "/orgs/three/stats")) {
            sameThroughBoth(callers(), path, stats);
        }
        assertThat(answer(api, "/orgs/" + ORG + "/stats", false)).contains("x-cache=[hit]");
    }

    @Test
    @Order(3)
    void theRoutesMetricsCountTheFiltersRequestsAsJerseyWould() {
        Map<String, Object> user = created(api, ORG);
        long timed = metrics.timerCount(ROUTE);
        long totals = metrics.timerCount(ROUTE + ".total");
        long ok = metrics.meter(ROUTE + ".2xx-responses");
        long refused = metrics.meter(ROUTE + ".4xx-responses");

        assertThat(api.get("/users/" + user.get("id")).statusCode()).isEqualTo(200);
        assertThat(api.get("/users/987654321").statusCode()).isEqualTo(404);
        assertThat(anonymous.get("/users/" + user.get("id")).statusCode()).isEqualTo(401);

        assertThat(metrics.timerCount(ROUTE))
                .as("the method's timer: the two that reached the method")
                .isEqualTo(timed + 2);
        assertThat(metrics.timerCount(ROUTE + ".total")).as("every request").isEqualTo(totals + 3);
        assertThat(metrics.meter(ROUTE + ".2xx-responses")).isEqualTo(ok + 1);
        assertThat(metrics.meter(ROUTE + ".4xx-responses")).isEqualTo(refused + 2);
    }

    @Test
    @Order(4)
    void anyAcceptButNoneOrPlainJsonIsLeftToJerseysNegotiation() {
        Map<String, Object> user = created(api, ORG);
        Map<String, Integer> statuses = new TreeMap<>();
        long jersey = metrics.timerCount(ROUTE + ".response.filtering");
        List<String> accepts = List.of("text/plain", "application/json;q=0", "text/html;q=1, application/json;q=0.5");
        for (String accept : accepts) {
            statuses.put(
                    accept,
                    api.send(HttpRequest.newBuilder(api.uri("/users/" + user.get("id")))
                                    .header("Accept", accept))
                            .statusCode());
        }
        assertThat(metrics.timerCount(ROUTE + ".response.filtering"))
                .as("the two served went through Jersey's filters (its 406 is answered before the method is matched)")
                .isEqualTo(jersey + 2);
        // Jersey 3.1 ignores a quality of 0 and serves JSON; the filter, which used to match "application/json"
        // anywhere in the header, now leaves every such decision to Jersey, so both answer alike.
        assertThat(statuses)
                .as("by Accept header")
                .containsOnly(
                        Map.entry("text/plain", 406),
                        Map.entry("application/json;q=0", 200),
                        Map.entry("text/html;q=1, application/json;q=0.5", 200));
        // Percent-encoded digits, a trailing slash: Jersey decodes and matches them as before.
        assertThat(Http.json(api.get("/users/" + encoded(((Number) user.get("id")).longValue()))))
                .isEqualTo(user);
        assertThat(Http.json(api.get("/users/" + user.get("id") + "/"))).isEqualTo(user);
    }

    /** Last: the proxy's port, once freed, can be taken by any outgoing connection, so it is not restored. */
    @Test
    @Order(Integer.MAX_VALUE)
    void aDatabaseThatIsDownAnswersTheSameThroughTheFilterAndThroughJersey() {
        Map<String, Object> user = created(api, ORG);
        assertThat(api.get("/users/" + user.get("id")).statusCode())
                .as("the key is cached")
                .isEqualTo(200);
        assertThat(anonymous.as(TestKeys.of(DB, ORG)).get("/transactions").statusCode())
                .isEqualTo(200);

        DATABASE.cut();

        Map<String, Http> callers = new LinkedHashMap<>();
        callers.put("a cached key", api); // the read fails
        callers.put("a key never looked up", anonymous.as(TestKeys.of(DB, ORG))); // its look-up fails
        callers.put("no key", anonymous); // no look-up: 401
        sameThroughBoth(callers, "/users/" + user.get("id"), ROUTE);
        String unavailable = "{\"code\":503,\"message\":\"database unavailable, retry later\"}";
        assertThat(answer(api, "/users/" + user.get("id"), false))
                .startsWith("503 ")
                .contains("retry-after=[1]")
                .endsWith(unavailable);
        assertThat(answer(callers.get("a key never looked up"), "/users/" + user.get("id"), false))
                .startsWith("503 ")
                .endsWith(unavailable);
        assertThat(answer(anonymous, "/users/" + user.get("id"), false)).startsWith("401 ");
    }

    private static String encoded(long id) {
        StringBuilder s = new StringBuilder();
        for (char c : Long.toString(id).toCharArray()) {
            s.append('%').append(Integer.toHexString(c).toUpperCase());
        }
        return s.toString();
    }

    /** The JSON text the service writes for a user map (fields in the record's order). */
    private static final class Json {
        static String of(Map<String, Object> user) {
            return "{\"id\":" + user.get("id") + ",\"email\":\"" + user.get("email") + "\",\"role\":\""
                    + user.get("role") + "\",\"orgId\":" + user.get("orgId") + ",\"age\":" + user.get("age") + "}";
        }
    }
}
