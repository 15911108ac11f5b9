package dev.fortress.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The warm-up phase: readiness answers 503 while the instance warms itself on its own routes and
 * real data, 200 once it has ended, and the metrics and the health message say what it did.
 * Nothing here is timed: the warm-up must answer minRequests requests before the JIT may end it,
 * which takes seconds, while the first readiness call comes right after start-up; its time bound
 * (maxDuration) is many seconds more. Either may end it: the test accepts both and checks each.
 * <p>
 * The warm-up calls as one organisation with a key only the process knows, and sends unknown keys
 * as a client guessing keys would (401). A servlet filter of the test, in front of the
 * application's, records which {@code Authorization} headers came in and what each was answered:
 * so the test can present the warm-up's own key once it has ended, and see it refused.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class WarmupTest {

    private static final int MIN_REQUESTS = 3_000;
    private static final TestDatabase DB = TestDatabase.create();

    static {
        DB.jdbi()
                .useHandle(
                        h -> h.execute(
                                "insert into users (email, role, org_id, age) "
                                        + "select 'warm-' || g || '@x.io', 'member', 1 + g % 5, 20 + g % 50 from generate_series(1, 200) g"));
    }

    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.warmingUp(
            DB,
            ConfigOverride.config("warmup.minRequests", String.valueOf(MIN_REQUESTS)),
            // A test JVM compiles much besides the routes: do not wait for its JIT to settle for long.
            ConfigOverride.config("warmup.maxDuration", "15s"));
    /** Each Authorization header the application port received, and the statuses answered to it. */
    private static final Map<String, Set<Integer>> KEYS_SEEN = new ConcurrentHashMap<>();

    static {
        APP.addListener(new DropwizardAppExtension.ServiceListener<>() {
            @Override
            public void onRun(
                    FortressConfiguration configuration,
                    Environment environment,
                    DropwizardAppExtension<FortressConfiguration> app) {
                // Run before the application's own run(): prepended, it sees the requests DirectGetFilter answers too.
                environment
                        .servlets()
                        .addFilter("test-keys-seen", new KeysSeen())
                        .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, "/*");
            }
        });
    }

    @Test
    void readinessIsDownWhileWarmingAndUpAfterwardsWithWarmupMetricsSet() throws Exception {
        Http api = new Http("127.0.0.1", APP.getLocalPort());
        Http admin = new Http("127.0.0.1", APP.getAdminPort());
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());

        assertThat(api.get("/health-check").statusCode())
                .as("readiness while warming")
                .isEqualTo(503);
        assertThat(metrics.intGauge("dev.fortress.warmup.done")).isZero();
        Map<?, ?> warming = (Map<?, ?>) Http.json(admin.get("/healthcheck")).get("warmup");
        assertThat(warming.get("healthy")).isEqualTo(false);
        assertThat((String) warming.get("message")).startsWith("warming up");

        List<Integer> readiness = new ArrayList<>();
        for (int i = 0; i < 1_200 && !readiness.contains(200); i++) { // up to 10 minutes: a hang, not a bound
            readiness.add(api.get("/health-check").statusCode());
            Thread.sleep(500);
        }
        assertThat(readiness).as("readiness turns 200 once warm-up has ended").contains(200);
        assertThat(readiness.subList(readiness.indexOf(200), readiness.size())).containsOnly(200);

        assertThat(metrics.intGauge("dev.fortress.warmup.done")).isEqualTo(1);
        Map<?, ?> warm = (Map<?, ?>) Http.json(admin.get("/healthcheck")).get("warmup");
        String message = (String) warm.get("message");
        assertThat(message).matches("warm-up ended after [0-9.]+ s because (the JIT settled|its time bound).*");
        if (message.contains("the JIT settled")) {
            assertThat(metrics.meter("dev.fortress.warmup.requests")).isGreaterThanOrEqualTo(MIN_REQUESTS);
        } else {
            assertThat(metrics.meter("dev.fortress.warmup.requests")).isPositive();
        }
        assertThat(metrics.meter("dev.fortress.warmup.unexpected-responses"))
                .as("every warm-up request answered as its route should")
                .isZero();
        assertThat(((Number) metrics.gauge("dev.fortress.warmup.duration")).doubleValue())
                .isPositive();
        // The warm-up went through the real routes: their own metrics moved, 200s and 404s alike.
        assertThat(metrics.meter("dev.fortress.users.UsersResource.get.2xx-responses"))
                .isPositive();
        assertThat(metrics.meter("dev.fortress.users.UsersResource.get.4xx-responses"))
                .isPositive();
        assertThat(metrics.meter("dev.fortress.orgs.OrgsResource.stats.2xx-responses"))
                .isPositive();

        assertThat(warm.get("healthy")).isEqualTo(true);
        assertThat(message)
                .contains(
                        "GET /users/{id} 200: ",
                        "GET /users/{id} 404: ",
                        "POST /users 422: ",
                        "GET /orgs/{id}/stats 200: ",
                        "GET /orgs/{id}/stats 404: ",
                        "GET /users/{id} 401: ",
                        "GET /orgs/{id}/stats 401: ",
                        "0 answered other than expected");
        // Its unknown keys and its requests for another organisation's data count as refusals, as a client's would.
        assertThat(metrics.meter("dev.fortress.auth.refused.users.unauthenticated"))
                .isGreaterThanOrEqualTo(sent(message, "GET /users/{id} 401"))
                .isPositive();
        assertThat(metrics.meter("dev.fortress.auth.refused.orgs.unauthenticated"))
                .isGreaterThanOrEqualTo(sent(message, "GET /orgs/{id}/stats 401"))
                .isPositive();
        assertThat(metrics.meter("dev.fortress.auth.refused.users.cross-tenant"))
                .isPositive();
        assertThat(metrics.meter("dev.fortress.auth.refused.orgs.cross-tenant")).isPositive();

        // One key was answered 2xx: the warm-up's own. Every other key it sent was refused.
        Map<String, Set<Integer>> seen = Map.copyOf(KEYS_SEEN);
        List<String> own = seen.entrySet().stream()
                .filter(e -> e.getValue().stream().anyMatch(s -> s / 100 == 2))
                .map(Map.Entry::getKey)
                .toList();
        assertThat(own).as("keys the warm-up called with successfully").hasSize(1);
        assertThat(seen).as("the warm-up's own key and its unknown ones").hasSizeGreaterThan(1);
        seen.forEach((authorization, statuses) -> {
            if (!own.contains(authorization)) {
                assertThat(statuses).as("an unknown key").containsOnly(401);
            }
        });
        // Once the warm-up has ended, its key is refused: on a route DirectGetFilter answers and on one of Jersey's.
        for (String path : List.of(
                "/users/1", "/orgs/1/stats", "/transactions?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z")) {
            assertThat(api.send(HttpRequest.newBuilder(api.uri(path))
                                    .header("Authorization", own.get(0))
                                    .GET())
                            .statusCode())
                    .as("GET %s with the warm-up's key after it ended", path)
                    .isEqualTo(401);
        }
    }

    /** How many requests of {@code label} the warm-up's health message says it sent. */
    private static long sent(String message, String label) {
        Matcher m = Pattern.compile(Pattern.quote(label) + ": (\\d+)").matcher(message);
        assertThat(m.find()).as("%s in %s", label, message).isTrue();
        return Long.parseLong(m.group(1));
    }

    /** Records each request's Authorization header and the status it was answered. */
    private static final class KeysSeen implements Filter {
        @Override
        public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
                throws IOException, ServletException {
            try {
                chain.doFilter(request, response);
            } finally {
                String authorization = ((HttpServletRequest) request).getHeader("Authorization");
                if (authorization != null) {
                    KEYS_SEEN
                            .computeIfAbsent(authorization, k -> ConcurrentHashMap.newKeySet())
                            .add(((HttpServletResponse) response).getStatus());
                }
            }
        }
    }
}
