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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import redis.clients.jedis.Jedis;

/** The org stats cache on a real Redis (database 15) and PostgreSQL. */
@ExtendWith(DropwizardExtensionsSupport.class)
class OrgStatsAppTest {

    private static final int REDIS_DB = 15;
    private static final TestDatabase DB = TestDatabase.create();
    private static final TcpProxy REDIS = new TcpProxy("127.0.0.1", 6379);
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            ConfigOverride.config("redis.url", "redis://127.0.0.1:" + REDIS.port() + "/" + REDIS_DB),
            // Generous here: on a busy 2-core test box a Redis answer through the proxy can take over
            // 100 ms, and a request that gives up on Redis rightly aggregates on its own, which would
            // blur the single-flight count. RedisOutageTest keeps the production timeout.
            ConfigOverride.config("redis.timeout", "2s"));
    /** Org ids of this run, so that nothing another run left in Redis can be mistaken for ours. */
    private static final long ORG_BASE =
            ThreadLocalRandom.current().nextLong(100_000_000, 1_000_000_000) * 100; // > 2^31: JSON reads it as a long

    @BeforeAll
    static void emptyTheTestRedisDatabaseAndAwaitTheSubscription() {
        try (Jedis jedis = new Jedis("127.0.0.1", 6379)) {
            jedis.select(REDIS_DB);
            jedis.flushDB();
        }
        // Hits below are the near-cache's once its subscription is made (within a heartbeat of start).
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (new AdminMetrics(APP.getAdminPort()).intGauge("dev.fortress.orgs.stats.near-cache.listening") == 0) {
            assertThat(System.nanoTime())
                    .as("the near-cache's subscription within 30 s")
                    .isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
        }
    }

    private AdminMetrics metrics() {
        return new AdminMetrics(APP.getAdminPort());
    }

    private final OrgsClient client = new OrgsClient(DB, APP.getLocalPort());

    @Test
    void missThenHitThenAWriteToTheOrgInvalidatesIt() {
        long org = ORG_BASE + 1;
        client.addUser(org, 30);
        client.addUser(org, 41);
        long hitsBefore = metrics().meter("dev.fortress.orgs.stats.cache.hits");
        long missesBefore = metrics().meter("dev.fortress.orgs.stats.cache.misses");

        HttpResponse<String> first = client.stats(org);
        HttpResponse<String> second = client.stats(org);

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("X-Cache")).contains("miss");
        assertThat(Http.json(first)).isEqualTo(Map.of("orgId", org, "users", 2, "avgAge", 35.5));
        assertThat(second.headers().firstValue("X-Cache")).contains("hit");
        assertThat(second.body()).isEqualTo(first.body());
        assertThat(metrics().meter("dev.fortress.orgs.stats.cache.hits")).isEqualTo(hitsBefore + 1);
        assertThat(metrics().meter("dev.fortress.orgs.stats.cache.misses")).isEqualTo(missesBefore + 1);
        long hits = metrics().meter("dev.fortress.orgs.stats.cache.hits");
        long misses = metrics().meter("dev.fortress.orgs.stats.cache.misses");
        assertThat((Double) metrics().gauge("dev.fortress.orgs.stats.cache.hit-ratio"))
                .isEqualTo((double) hits / (hits + misses));

        client.addUser(org, 20);
        HttpResponse<String> afterWrite = client.stats(org);

        assertThat(afterWrite.headers().firstValue("X-Cache")).contains("miss");
        assertThat(Http.json(afterWrite)).containsEntry("users", 3).containsEntry("avgAge", 30.33);
        assertThat(client.stats(org).headers().firstValue("X-Cache")).contains("hit");
    }

    /**
     * Drops the org's entry from the instance's near-cache as another instance's write would (an
     * invalidation published on the channel), leaving Redis as it is; returns once it was received.
     */
    private void dropFromNearCache(long org) {
        long received = metrics().meter("dev.fortress.orgs.stats.near-cache.invalidations");
        try (Jedis jedis = new Jedis("127.0.0.1", 6379)) {
            jedis.publish(OrgStatsCache.channel(REDIS_DB), Long.toString(org));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (metrics().meter("dev.fortress.orgs.stats.near-cache.invalidations") == received) {
            assertThat(System.nanoTime())
                    .as("the invalidation received within 30 s")
                    .isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
        }
    }

    @Test
    void anOrgWithNoUsersHasZeroUsersAndNoAverageAndLeavesNoKeyInRedis() {
        long org = ORG_BASE + 2;
        HttpResponse<String> empty = client.stats(org);
        HttpResponse<String> again = client.stats(org);

        assertThat(empty.statusCode()).isEqualTo(200);
        assertThat(empty.body()).isEqualTo("{\"orgId\":" + org + ",\"users\":0,\"avgAge\":null}");
        assertThat(again.headers().firstValue("X-Cache"))
                .as("nothing was stored to hit")
                .contains("miss");
        try (Jedis jedis = new Jedis("127.0.0.1", 6379)) {
            jedis.select(REDIS_DB);
            assertThat(jedis.keys("*{" + org + "}*"))
                    .as("keys of the org without users")
                    .isEmpty();
        }

        client.addUser(org, 20);
        client.stats(org);
        try (Jedis jedis = new Jedis("127.0.0.1", 6379)) {
            jedis.select(REDIS_DB);
            assertThat(jedis.exists(OrgStatsCache.entryKey(org)))
                    .as("cached once it has a user")
                    .isTrue();
        }
    }

    @Test
    void sixtyFourConcurrentRequestsOnAColdKeyRunOneAggregation() throws Exception {
        long org = ORG_BASE + 3;
        client.addUser(org, 50);
        concurrently(ORG_BASE + 30); // warm the Redis pool: what is measured is the single flight
        long before = metrics().timerCount("dev.fortress.orgs.stats.aggregation");

        for (HttpResponse<String> answer : concurrently(org)) {
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(Http.json(answer)).containsEntry("users", 1);
        }

        assertThat(metrics().timerCount("dev.fortress.orgs.stats.aggregation"))
                .as(() -> "redis errors " + metrics().meter("dev.fortress.cache.redis.errors") + ", exhausted "
                        + metrics().meter("dev.fortress.cache.redis.pool-exhausted") + ", skipped "
                        + metrics().meter("dev.fortress.cache.redis.skipped-breaker-open"))
                .isEqualTo(before + 1);
    }

    /** 64 requests for the org's stats released at the same instant. */
    private List<HttpResponse<String>> concurrently(long org) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(64);
        CountDownLatch start = new CountDownLatch(1);
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            answers.add(CompletableFuture.supplyAsync(
                    () -> {
                        try {
                            start.await();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                        return client.stats(org);
                    },
                    clients));
        }

        start.countDown();
        List<HttpResponse<String>> done = new ArrayList<>();
        for (CompletableFuture<HttpResponse<String>> answer : answers) {
            done.add(answer.get());
        }
        clients.shutdown();
        return done;
    }

    @Test
    void anotherOrganisationsStatsAreA404ThatAsksNeitherRedisNorTheDatabase() {
        long org = ORG_BASE + 5;
        client.addUser(org, 33);
        assertThat(client.stats(org).statusCode()).isEqualTo(200); // cached: a leak would be a hit
        long hits = metrics().meter("dev.fortress.orgs.stats.cache.hits");
        long misses = metrics().meter("dev.fortress.orgs.stats.cache.misses");
        long aggregations = metrics().timerCount("dev.fortress.orgs.stats.aggregation");
        long crossTenant = metrics().meter("dev.fortress.auth.refused.orgs.cross-tenant");

        HttpResponse<String> answer = client.as(ORG_BASE + 6).get("/orgs/" + org + "/stats");

        assertThat(answer.statusCode()).isEqualTo(404);
        assertThat(Http.json(answer)).isEqualTo(Map.of("code", 404, "message", "organisation " + org + " not found"));
        assertThat(answer.headers().firstValue("X-Cache")).isEmpty();
        assertThat(metrics().meter("dev.fortress.orgs.stats.cache.hits")).isEqualTo(hits);
        assertThat(metrics().meter("dev.fortress.orgs.stats.cache.misses")).isEqualTo(misses);
        assertThat(metrics().timerCount("dev.fortress.orgs.stats.aggregation")).isEqualTo(aggregations);
        assertThat(metrics().meter("dev.fortress.auth.refused.orgs.cross-tenant"))
                .isEqualTo(crossTenant + 1);
    }

    @Test
    void garbageInRedisIsAMissNotAnError() {
        long org = ORG_BASE + 4;
        client.addUser(org, 60);
        client.stats(org);
        try (Jedis jedis = new Jedis("127.0.0.1", 6379)) {
            jedis.select(REDIS_DB);
            jedis.set(OrgStatsCache.entryKey(org), "{not json");
        }
        dropFromNearCache(org);
        long errors = metrics().meter("dev.fortress.orgs.stats.cache.errors");

        HttpResponse<String> answer = client.stats(org);

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.headers().firstValue("X-Cache")).contains("miss");
        assertThat(Http.json(answer)).containsEntry("users", 1);
        assertThat(metrics().meter("dev.fortress.orgs.stats.cache.errors")).isEqualTo(errors + 1);
        assertThat(client.stats(org).headers().firstValue("X-Cache")).contains("hit");
    }
}
