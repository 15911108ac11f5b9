package dev.fortress.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.cache.Redis;
import dev.fortress.cache.RedisConfiguration;
import dev.fortress.testing.OwnedProcesses;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.errors.ErrorMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link RateLimiter} on its own: the in-flight limit per key, and the GCRA it runs when Redis does
 * not answer, on a clock the test moves (so exact counts, no waiting). One test runs the same
 * numbers through the shared Redis script, on the shared Redis, for the same answers.
 */
class RateLimiterTest {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final MetricRegistry metrics = new MetricRegistry();
    private final List<Redis> redises = new ArrayList<>();

    @AfterEach
    void close() {
        redises.forEach(Redis::stop);
    }

    private static RateLimitsConfiguration limits(int maxInFlight) {
        return Jackson.newObjectMapper()
                .convertValue(
                        Map.of(
                                "requestsPerSecond",
                                1.0,
                                "burst",
                                5,
                                "maxInFlight",
                                maxInFlight,
                                "unauthenticatedRequestsPerSecond",
                                1.0,
                                "unauthenticatedBurst",
                                3,
                                "namespace",
                                "rate-limiter-test-" + UUID.randomUUID(),
                                "localBuckets",
                                1000),
                        RateLimitsConfiguration.class);
    }

    /** A Redis client for {@code url}, with config.yml's timeouts and breaker. */
    private Redis redis(String url) {
        RedisConfiguration config = Jackson.newObjectMapper()
                .convertValue(
                        Map.of(
                                "url",
                                url,
                                "maxTotal",
                                4,
                                "minIdle",
                                0,
                                "connectTimeout",
                                "250ms",
                                "timeout",
                                "100ms",
                                "borrowTimeout",
                                "50ms",
                                "breakerFailures",
                                5,
                                "breakerOpenFor",
                                "5s"),
                        RedisConfiguration.class);
        Redis redis = new Redis(config, new MetricRegistry());
        redises.add(redis);
        return redis;
    }

    private RateLimiter limiter(String redisUrl, int maxInFlight) {
        return new RateLimiter(limits(maxInFlight), redis(redisUrl), metrics, nanos::get);
    }

    private static String nowhere() {
        return "redis://127.0.0.1:" + OwnedProcesses.freePort(); // nothing listens there
    }

    private static final Caller CALLER = new Caller(9, 7, Set.of(Scopes.READ), "fk_test", null);

    @Test
    void withoutRedisABurstIsAdmittedThenOneRequestPerSecond() {
        RateLimiter limiter = limiter(nowhere(), 100);
        List<Access.Decision> first = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            first.add(limiter.admit(CALLER));
        }
        assertThat(first.subList(0, 5)).allSatisfy(d -> assertThat(d).isInstanceOf(Access.Allowed.class));
        assertThat(((Access.Allowed) first.get(0)).rateLimit()).isEqualTo("\"key\";r=4;t=1");
        assertThat(((Access.Allowed) first.get(4)).rateLimit()).isEqualTo("\"key\";r=0;t=5");
        assertThat(first.subList(5, 7)).allSatisfy(d -> {
            assertThat(d).isInstanceOf(Access.Refused.class);
            var response = ((Access.Refused) d).response();
            assertThat(response.getStatus()).isEqualTo(429);
            assertThat(response.getHeaderString("Retry-After")).isEqualTo("1");
            assertThat(response.getHeaderString("RateLimit-Policy")).isEqualTo("\"key\";q=5;w=5");
            assertThat(response.getHeaderString("RateLimit")).isEqualTo("\"key\";r=0;t=1");
        });

        nanos.addAndGet(1_000_000_000L);
        assertThat(limiter.admit(CALLER)).as("a second later: one more").isInstanceOf(Access.Allowed.class);
        assertThat(limiter.admit(CALLER)).isInstanceOf(Access.Refused.class);
        assertThat(metrics.meter(RateLimiter.FALLBACKS).getCount())
                .as("every decision made here")
                .isEqualTo(9);
        assertThat(metrics.meter(RateLimiter.LIMITED + ".key").getCount()).isEqualTo(3);
    }

    @Test
    void aKeysOwnRateGetsTheSameSecondsOfBurst() {
        RateLimiter limiter = limiter(nowhere(), 100);
        Caller fast = new Caller(10, 7, Set.of(Scopes.READ), "fk_fast", null, 4.0);
        assertThat(limiter.burstAt(4.0)).as("5 s of 4/s").isEqualTo(20);
        int admitted = 0;
        for (int i = 0; i < 30; i++) {
            admitted += limiter.admit(fast) instanceof Access.Allowed ? 1 : 0;
        }
        assertThat(admitted).isEqualTo(20);
        assertThat(((Access.Refused) limiter.admit(fast)).response().getHeaderString("RateLimit-Policy"))
                .isEqualTo("\"key\";q=20;w=5");
    }

    @Test
    void aKeyWithMaxInFlightRequestsOpenIsRefusedUntilOneIsReleased() {
        RateLimiter limiter = limiter(nowhere(), 2);
        Caller many = new Caller(11, 7, Set.of(Scopes.READ), "fk_many", null, 1000.0);
        Access.Allowed one = (Access.Allowed) limiter.admit(many);
        Access.Allowed two = (Access.Allowed) limiter.admit(many);
        Access.Decision three = limiter.admit(many);
        assertThat(three).isInstanceOf(Access.Refused.class);
        assertThat(((ErrorMessage) ((Access.Refused) three).response().getEntity()).getMessage())
                .contains("in flight");
        assertThat(metrics.meter(RateLimiter.LIMITED + ".inflight").getCount()).isEqualTo(1);
        one.release();
        assertThat(limiter.admit(many)).as("a place given back").isInstanceOf(Access.Allowed.class);
        two.release();
        assertThat(limiter.admit(new Caller(12, 7, Set.of(Scopes.READ), "fk_other", null)))
                .as("another key has places of its own")
                .isInstanceOf(Access.Allowed.class);
    }

    @Test
    void theRedisScriptGivesTheSameAnswersInOneRoundTrip() {
        RateLimiter limiter = limiter("redis://127.0.0.1:6379", 100);
        List<String> states = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            Access.Decision d = limiter.admit(CALLER);
            states.add(
                    d instanceof Access.Allowed a
                            ? a.rateLimit()
                            : ((Access.Refused) d).response().getStatus() + " "
                                    + ((Access.Refused) d).response().getHeaderString("RateLimit-Policy"));
        }
        assertThat(metrics.meter(RateLimiter.FALLBACKS).getCount())
                .as("Redis answered every one")
                .isZero();
        // Redis's clock moves between calls (microseconds), so only the first and the refusals are exact.
        assertThat(states.get(0)).isEqualTo("\"key\";r=4;t=1");
        assertThat(states.subList(0, 5)).allSatisfy(s -> assertThat(s).startsWith("\"key\";r="));
        assertThat(states.subList(5, 7)).containsOnly("429 \"key\";q=5;w=5");
        assertThat(limiter.unauthenticated("192.0.2.1")).isNull();
    }
}
