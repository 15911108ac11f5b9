package dev.fortress.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.Commands;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.HostileHttp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedRedis;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Per-caller fairness on one instance with a Redis of the test's own (docs/api.md "Limits"): a key
 * over its rate gets 429s with Retry-After, RateLimit-Policy and RateLimit on both paths (GET
 * /orgs/{id}/stats in front of Jersey, GET /transactions in Jersey) while another organisation's key
 * is served; a rate set by {@code keys create --rate} is the one enforced; requests without a key are
 * limited per address while a keyed caller from the same address is served; with Redis killed, the
 * instance limits on its own; a key still over its rate is answered at the edge. Counts, never time: each burst is sent as fast as the test can, and the
 * admitted count is bounded by the burst plus the rate times the measured elapsed time, rounded up.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RateLimitTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedRedis REDIS = new OwnedRedis();
    private static final int ADDRESS_BURST = 5;
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            REDIS.override(),
            ConfigOverride.config("rateLimits.unauthenticatedRequestsPerSecond", "1"),
            ConfigOverride.config("rateLimits.unauthenticatedBurst", String.valueOf(ADDRESS_BURST)));
    private static final long GREEDY_ORG = 41;
    private static final long OTHER_ORG = 42;

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    private static Http api() {
        return new Http("127.0.0.1", APP.getLocalPort());
    }

    private static AdminMetrics metrics() {
        return new AdminMetrics(APP.getAdminPort());
    }

    /** What a burst of requests got, and how long it took from the first sent to the last answered. */
    private record Burst(List<HttpResponse<String>> answers, double seconds) {
        long admitted() {
            return answers.stream().filter(a -> a.statusCode() == 200).count();
        }

        List<HttpResponse<String>> refused() {
            return answers.stream().filter(a -> a.statusCode() == 429).toList();
        }

        /** What a bucket of {@code burst} at {@code rate} can admit in the time this burst took. */
        long bound(int burst, double rate) {
            return burst + (long) Math.ceil(seconds * rate);
        }
    }

    /** {@code count} requests alternating between the two paths; after each, {@code between} runs. */
    private static Burst burst(Http caller, long org, int count, Runnable between) {
        List<HttpResponse<String>> answers = new ArrayList<>();
        long started = System.nanoTime();
        for (int i = 0; i < count; i++) {
            answers.add(caller.get(i % 2 == 0 ? "/orgs/" + org + "/stats" : "/transactions"));
            between.run();
        }
        return new Burst(answers, (System.nanoTime() - started) / 1e9);
    }

    private static void assertTooMany(HttpResponse<String> answer, String policy, String name) {
        assertThat(answer.headers().firstValue("Retry-After"))
                .as("Retry-After")
                .hasValueSatisfying(v -> assertThat(Long.parseLong(v)).isPositive());
        assertThat(answer.headers().firstValue("RateLimit-Policy"))
                .as("RateLimit-Policy")
                .hasValue(policy);
        assertThat(answer.headers().firstValue("RateLimit"))
                .as("RateLimit")
                .hasValueSatisfying(v -> assertThat(v).matches("\"" + name + "\";r=0;t=[1-9][0-9]*"));
        assertThat(answer.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(Http.json(answer)).containsEntry("code", 429).containsKey("message");
    }

    @Test
    @Order(1)
    void aGreedyKeyGets429sWithTheHeadersWhileAnotherOrganisationsKeyIsServed() {
        // 1/s: the burst is as many seconds of it as config.yml's default burst is of its rate (2 s).
        String greedy = new ApiKeyStore(DB.jdbi())
                .create(GREEDY_ORG, Set.of(Scopes.READ), null, 1.0)
                .key();
        Http other = api().as(TestKeys.of(DB, OTHER_ORG, Scopes.READ));
        List<HttpResponse<String>> others = new ArrayList<>();
        long limitedBefore = metrics().meter("dev.fortress.ratelimit.limited.key");
        long atEdgeBefore = metrics().meter("dev.fortress.edge.refused-keys");

        Burst sent = burst(
                api().as(greedy),
                GREEDY_ORG,
                30,
                () -> others.add(
                        other.get(others.size() % 2 == 0 ? "/orgs/" + OTHER_ORG + "/stats" : "/transactions")));

        assertThat(sent.admitted())
                .as("admitted of 30 in %.2f s at 1/s, bursts of 2", sent.seconds())
                .isGreaterThanOrEqualTo(2)
                .isLessThanOrEqualTo(sent.bound(2, 1.0));
        assertThat(sent.refused()).as("the rest refused").hasSize(30 - (int) sent.admitted());
        sent.refused().forEach(a -> assertTooMany(a, "\"key\";q=2;w=2", "key"));
        assertThat(sent.refused())
                .as("429s from both paths")
                .anySatisfy(a -> assertThat(a.uri().getPath()).isEqualTo("/transactions"))
                .anySatisfy(a -> assertThat(a.uri().getPath()).endsWith("/stats"));
        assertThat(others).as("the other organisation's key, served throughout").allSatisfy(a -> {
            assertThat(a.statusCode()).isEqualTo(200);
            assertThat(a.headers().firstValue("RateLimit"))
                    .hasValueSatisfying(v -> assertThat(v).matches("\"key\";r=[0-9]+;t=[1-9][0-9]*"));
        });
        assertThat(metrics().meter("dev.fortress.ratelimit.limited.key") - limitedBefore)
                .as("dev.fortress.ratelimit.limited.key")
                .isEqualTo(sent.refused().size());
        // The first 429 of each refusal comes from the limiter (Redis said so); the key's next requests
        // until its bucket admits again are answered by the edge (RefusedKeys), with the same fields.
        assertThat(metrics().meter("dev.fortress.edge.refused-keys") - atEdgeBefore)
                .as("429s answered at the edge")
                .isPositive()
                .isLessThan(sent.refused().size());
    }

    @Test
    @Order(2)
    void theRateOfKeysCreateIsTheOneEnforced() {
        Commands.Result created =
                Commands.run(Commands.on(DB), "keys", "create", "--org", "43", "--scopes", "read", "--rate", "30/m");
        assertThat(created.failure()).as(created.err()).isEmpty();
        assertThat(created.out()).contains("rate 0.5/s");
        Commands.Result listed = Commands.run(Commands.on(DB), "keys", "list", "--org", "43");
        assertThat(listed.lines())
                .anySatisfy(l -> assertThat(l).contains("0.5/s").contains("active"));

        Burst sent = burst(api().as(created.lastLine()), 43, 12, () -> {});

        // 0.5/s, bursts of round(0.5 * 2000 / 1000) = 1: a policy of 1 request per 2 s.
        assertThat(sent.admitted())
                .as("admitted of 12 in %.2f s at 0.5/s, bursts of 1", sent.seconds())
                .isGreaterThanOrEqualTo(1)
                .isLessThanOrEqualTo(sent.bound(1, 0.5));
        sent.refused().forEach(a -> assertTooMany(a, "\"key\";q=1;w=2", "key"));
        assertThat(sent.refused()).isNotEmpty();
    }

    @Test
    @Order(3)
    void requestsWithoutAValidKeyAreLimitedPerAddressWhileAKeyedCallerIsServed() {
        Http keyed = api().as(TestKeys.of(DB, OTHER_ORG, Scopes.READ));
        List<Integer> keyedStatuses = new ArrayList<>();
        Http nobody = api().withAuthorization("Bearer fk_" + "x".repeat(ApiKeyFormat.LENGTH - 3));
        long limitedBefore = metrics().meter("dev.fortress.ratelimit.limited.address");

        Burst sent = burst(
                nobody,
                GREEDY_ORG,
                30,
                () -> keyedStatuses.add(keyed.get("/transactions").statusCode()));

        long unauthenticated =
                sent.answers().stream().filter(a -> a.statusCode() == 401).count();
        assertThat(unauthenticated)
                .as("401s of 30 in %.2f s at 1/s, bursts of %d", sent.seconds(), ADDRESS_BURST)
                .isGreaterThanOrEqualTo(ADDRESS_BURST)
                .isLessThanOrEqualTo(sent.bound(ADDRESS_BURST, 1.0));
        assertThat(sent.refused()).as("the rest 429").hasSize(30 - (int) unauthenticated);
        sent.refused().forEach(a -> assertTooMany(a, "\"address\";q=5;w=5", "address"));
        assertThat(keyedStatuses)
                .as("a caller with a key, from the same address")
                .containsOnly(200);
        HostileHttp elsewhere = new HostileHttp("127.0.0.1", APP.getLocalPort(), "127.0.0.2");
        for (String path : List.of("/transactions", "/orgs/" + GREEDY_ORG + "/stats")) {
            assertThat(elsewhere
                            .exchange(("GET " + path + " HTTP/1.1\r\nHost: fortress\r\nConnection: close\r\n\r\n")
                                    .getBytes(StandardCharsets.US_ASCII))
                            .status())
                    .as("GET %s without a key from another address (127.0.0.2): its own allowance", path)
                    .isEqualTo(401);
        }
        assertThat(metrics().meter("dev.fortress.ratelimit.limited.address") - limitedBefore)
                .isEqualTo(sent.refused().size());
    }

    @Test
    @Order(4)
    void withRedisKilledEachInstanceStillLimitsOnItsOwn() {
        String greedy = new ApiKeyStore(DB.jdbi())
                .create(44, Set.of(Scopes.READ), null, 1.0)
                .key();
        Http other = api().as(TestKeys.of(DB, OTHER_ORG, Scopes.READ));
        List<Integer> others = new ArrayList<>();
        long fallbacksBefore = metrics().meter("dev.fortress.ratelimit.redis-fallbacks");
        REDIS.kill();
        try {
            Burst sent = burst(
                    api().as(greedy),
                    44,
                    30,
                    () -> others.add(other.get("/transactions").statusCode()));

            assertThat(sent.admitted())
                    .as("admitted of 30 in %.2f s at 1/s, bursts of 2, Redis down", sent.seconds())
                    .isGreaterThanOrEqualTo(2)
                    .isLessThanOrEqualTo(sent.bound(2, 1.0));
            sent.refused().forEach(a -> assertTooMany(a, "\"key\";q=2;w=2", "key"));
            assertThat(sent.refused()).isNotEmpty();
            assertThat(others).as("another key, Redis down").containsOnly(200);
            assertThat(metrics().meter("dev.fortress.ratelimit.redis-fallbacks") - fallbacksBefore)
                    .as("every decision made here, 60 requests")
                    .isGreaterThanOrEqualTo(60);
        } finally {
            REDIS.start();
        }
    }
}
