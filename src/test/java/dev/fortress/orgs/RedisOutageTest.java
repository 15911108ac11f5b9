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
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Redis taken away under load (a proxy the test cuts), with the production Redis timeout. */
@ExtendWith(DropwizardExtensionsSupport.class)
class RedisOutageTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TcpProxy REDIS = new TcpProxy("127.0.0.1", 6379);
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB,
            ConfigOverride.config("redis.url", "redis://127.0.0.1:" + REDIS.port() + "/14"),
            ConfigOverride.config("redis.breakerOpenFor", "1s"));
    private static final long ORG_BASE = ThreadLocalRandom.current().nextLong(100_000_000, 1_000_000_000) * 100; // > 2^31: JSON reads it as a long

    private Http api() {
        return new Http("127.0.0.1", APP.getLocalPort());
    }

    private HttpResponse<String> stats(long orgId) {
        return OrgsClient.stats(api(), orgId);
    }

    private void addUser(long orgId, int age) {
        OrgsClient.addUser(api(), orgId, age);
    }

    @Test
    void redisGoingAwayUnderLoadCostsNoErrorsAndHitsComeBack() throws Exception {
        long org = ORG_BASE + 5;
        addUser(org, 25);
        stats(org);
        // Baseline: cache misses with Redis up (every request a new org): Redis read, aggregation, Redis write.
        AtomicLong fresh = new AtomicLong(ORG_BASE + 1_000);
        List<Long> baseline = load(fresh::incrementAndGet, Duration.ofSeconds(2), Collections.synchronizedList(new ArrayList<>()));

        REDIS.cut();
        List<Integer> statuses = Collections.synchronizedList(new ArrayList<>());
        List<Long> duringOutage = load(() -> org, Duration.ofSeconds(3), statuses);
        // Writes while Redis is away cannot invalidate: the cache is dropped as a whole on its return.
        addUser(org, 35);

        assertThat(statuses).isNotEmpty().allMatch(status -> status == 200);
        assertThat(new AdminMetrics(APP.getAdminPort()).gauge("dev.fortress.cache.redis.breaker-state")).isEqualTo(2); // open
        HttpResponse<String> health = new Http("127.0.0.1", APP.getAdminPort()).get("/healthcheck");
        assertThat(health.body()).contains("degraded: redis at 127.0.0.1:" + REDIS.port() + " does not answer");
        assertThat(api().get("/health-check").statusCode()).as("readiness holds: redis is not critical")
                .isEqualTo(200);
        // Once the breaker is open a request pays nothing for Redis: its p99 stays within the Redis
        // timeout of a cache miss's.
        assertThat(percentile(duringOutage.subList(duringOutage.size() / 2, duringOutage.size()), 99))
                .isLessThanOrEqualTo(percentile(baseline, 99) + Duration.ofMillis(100).toNanos());

        REDIS.restore();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String cache = "";
        HttpResponse<String> answer = null;
        while (!cache.equals("hit") && System.nanoTime() < deadline) {
            LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
            answer = stats(org);
            cache = answer.headers().firstValue("X-Cache").orElse("");
        }
        assertThat(cache).isEqualTo("hit");
        assertThat(Http.json(answer)).as("no stale entry survived the outage").containsEntry("users", 2);
    }

    /** 8 clients asking for stats for {@code duration}; returns each request's latency. */
    private List<Long> load(java.util.function.LongSupplier orgs, Duration duration, List<Integer> statuses)
            throws Exception {
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        ExecutorService clients = Executors.newFixedThreadPool(8);
        long end = System.nanoTime() + duration.toNanos();
        for (int i = 0; i < 8; i++) {
            clients.submit(() -> {
                while (System.nanoTime() < end) {
                    long started = System.nanoTime();
                    statuses.add(stats(orgs.getAsLong()).statusCode());
                    latencies.add(System.nanoTime() - started);
                }
            });
        }
        clients.shutdown();
        clients.awaitTermination(duration.toSeconds() + 10, java.util.concurrent.TimeUnit.SECONDS);
        return new ArrayList<>(latencies);
    }

    private static long percentile(List<Long> values, int p) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }
}
