package dev.fortress.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The warm-up phase: readiness answers 503 while the instance warms itself on its own routes and
 * real data, 200 once it has ended, and the metrics and the health message say what it did.
 * Nothing here is timed: the warm-up must answer minRequests requests before the JIT may end it,
 * which takes seconds, while the first readiness call comes right after start-up; its time bound
 * (maxDuration) is many seconds more. Either may end it: the test accepts both and checks each.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class WarmupTest {

    private static final int MIN_REQUESTS = 3_000;
    private static final TestDatabase DB = TestDatabase.create();

    static {
        DB.jdbi().useHandle(h -> h.execute("insert into users (email, role, org_id, age) "
                + "select 'warm-' || g || '@x.io', 'member', 1 + g % 5, 20 + g % 50 from generate_series(1, 200) g"));
    }

    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.warmingUp(DB,
            ConfigOverride.config("warmup.minRequests", String.valueOf(MIN_REQUESTS)),
            // A test JVM compiles much besides the routes: do not wait for its JIT to settle for long.
            ConfigOverride.config("warmup.maxDuration", "15s"));

    @Test
    void readinessIsDownWhileWarmingAndUpAfterwardsWithWarmupMetricsSet() throws Exception {
        Http api = new Http("127.0.0.1", APP.getLocalPort());
        Http admin = new Http("127.0.0.1", APP.getAdminPort());
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());

        assertThat(api.get("/health-check").statusCode()).as("readiness while warming").isEqualTo(503);
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
                .as("every warm-up request answered as its route should").isZero();
        assertThat(((Number) metrics.gauge("dev.fortress.warmup.duration")).doubleValue()).isPositive();
        // The warm-up went through the real routes: their own metrics moved, 200s and 404s alike.
        assertThat(metrics.meter("dev.fortress.users.UsersResource.get.2xx-responses")).isPositive();
        assertThat(metrics.meter("dev.fortress.users.UsersResource.get.4xx-responses")).isPositive();
        assertThat(metrics.meter("dev.fortress.orgs.OrgsResource.stats.2xx-responses")).isPositive();

        assertThat(warm.get("healthy")).isEqualTo(true);
        assertThat(message).contains("GET /users/{id} 200: ", "GET /users/{id} 404: ", "POST /users 422: ",
                        "GET /orgs/{id}/stats 200: ", "0 answered other than expected");
    }
}
