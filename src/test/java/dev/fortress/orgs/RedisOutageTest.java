package dev.fortress.orgs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Redis taken away under load (a proxy the test cuts), with the production Redis timeout. */
@ExtendWith(DropwizardExtensionsSupport.class)
class RedisOutageTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TcpProxy REDIS = new TcpProxy("127.0.0.1", 6379);
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            ConfigOverride.config("redis.url", "redis://127.0.0.1:" + REDIS.port() + "/14"),
            ConfigOverride.config("redis.breakerOpenFor", "1s"),
            // The load is one key as fast as the clients go, past the key's default rate on a fast machine:
            // this test is about the cache, so the key's rate is out of its way (RateLimitTest has the limits).
            ConfigOverride.config("rateLimits.requestsPerSecond", "1000000"),
            ConfigOverride.config("rateLimits.burst", "1000000"));
    private static final long ORG_BASE =
            ThreadLocalRandom.current().nextLong(100_000_000, 1_000_000_000) * 100; // > 2^31: JSON reads it as a long

    private final OrgsClient client = new OrgsClient(DB, APP.getLocalPort());

    @Test
    void redisGoingAwayUnderLoadCostsNoErrorsTheBreakerSkipsItAndHitsComeBack() throws Exception {
        long org = ORG_BASE + 5;
        client.addUser(org, 25);
        client.stats(org);
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        int clients = 8;
        int breakerFailures = APP.getConfiguration().getRedis().getBreakerFailures();
        long breakerOpenFor =
                APP.getConfiguration().getRedis().getBreakerOpenFor().toNanoseconds();

        REDIS.cut();
        long failedBefore = metrics.meter("dev.fortress.cache.redis.errors");
        long skippedBefore = metrics.meter("dev.fortress.cache.redis.skipped-breaker-open");
        List<Integer> statuses = Collections.synchronizedList(new ArrayList<>());
        long started = System.nanoTime();
        load(clients, () -> org, Duration.ofSeconds(3), statuses);
        long window = System.nanoTime() - started;
        long failed = metrics.meter("dev.fortress.cache.redis.errors") - failedBefore;
        long skipped = metrics.meter("dev.fortress.cache.redis.skipped-breaker-open") - skippedBefore;
        // Writes while Redis is away cannot invalidate: the cache is dropped as a whole on its return.
        client.addUser(org, 35);

        assertThat(statuses).isNotEmpty().allMatch(status -> status == 200);
        assertThat(metrics.gauge("dev.fortress.cache.redis.breaker-state")).isEqualTo(2); // open
        HttpResponse<String> health = new Http("127.0.0.1", APP.getAdminPort()).get("/healthcheck");
        assertThat(health.body()).contains("degraded: redis at 127.0.0.1:" + REDIS.port() + " does not answer");
        assertThat(client.api().get("/health-check").statusCode())
                .as("readiness holds: redis is not critical")
                .isEqualTo(200);
        // Once the breaker is open a request pays nothing for Redis: it does not try it. Each request
        // here makes two Redis calls (its key's rate limit, an EVALSHA that then falls back to this
        // instance's own count; and an MGET, whose miss is then served from the database), so each
        // call either failed at Redis or skipped it, and only the failures that open the breaker (at
        // most one more per client, for calls already under way) and one trial per open period reach
        // Redis. Counts, which the machine's load cannot move (a p99 bound here failed at 203 ms).
        int callsPerRequest = 2;
        long trials = window / breakerOpenFor + 1;
        assertThat(failed)
                .as(
                        "calls that reached the dead Redis (%d requests in %d ms, %d calls skipped)",
                        statuses.size(), window / 1_000_000, skipped)
                .isLessThanOrEqualTo(breakerFailures + clients + trials);
        assertThat(skipped)
                .as("every other call skipped it")
                .isEqualTo((long) callsPerRequest * statuses.size() - failed)
                .isPositive();

        REDIS.restore();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String cache = "";
        HttpResponse<String> answer = null;
        while (!cache.equals("hit") && System.nanoTime() < deadline) {
            LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
            answer = client.stats(org);
            cache = answer.headers().firstValue("X-Cache").orElse("");
        }
        assertThat(cache).isEqualTo("hit");
        assertThat(Http.json(answer)).as("no stale entry survived the outage").containsEntry("users", 2);
    }

    /** {@code clients} clients asking for stats for {@code duration}; each answer's status goes to {@code statuses}. */
    private void load(int clients, java.util.function.LongSupplier orgs, Duration duration, List<Integer> statuses)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long end = System.nanoTime() + duration.toNanos();
        for (int i = 0; i < clients; i++) {
            pool.submit(() -> {
                while (System.nanoTime() < end) {
                    try {
                        statuses.add(client.stats(orgs.getAsLong()).statusCode());
                    } catch (RuntimeException e) {
                        statuses.add(-1); // no answer within Http's deadline
                    }
                }
            });
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(duration.toSeconds() + 10, java.util.concurrent.TimeUnit.SECONDS))
                .as("every request has a 10 s deadline")
                .isTrue();
    }
}
