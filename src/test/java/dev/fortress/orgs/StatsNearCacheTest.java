package dev.fortress.orgs;

import static dev.fortress.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.ChildFortress;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedRedis;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.args.ClientType;
import redis.clients.jedis.params.ClientKillParams;

/**
 * The stats near-cache across two instances sharing a Redis of the test's own and the database: this
 * one in the test's JVM ({@code A}) and one in a JVM of its own ({@code B}, configured as deployed,
 * through the environment). Both keep entries for 10 minutes here, far past every deadline below, so
 * a read that sees a write came through an invalidation, or through a near-cache that was not used,
 * never through an entry's age. Deadlines are generous and only wait for a state; nothing is timed.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StatsNearCacheTest {

    private static final String NEAR = "dev.fortress.orgs.stats.near-cache.";
    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedRedis REDIS = new OwnedRedis();
    private static final DropwizardAppExtension<FortressConfiguration> A =
            FortressApp.on(DB, REDIS.override(), ConfigOverride.config("orgs.nearCache.ttl", "10m"));
    private static final long ORG_BASE = ThreadLocalRandom.current().nextLong(100_000_000, 1_000_000_000) * 100;
    private static ChildFortress b;

    @BeforeAll
    static void startTheSecondInstance() {
        Map<String, String> env = ChildFortress.environment(DB);
        env.put("REDIS_URL", "redis://127.0.0.1:" + REDIS.port());
        env.put("ORG_STATS_NEAR_CACHE_TTL", "10m");
        b = ChildFortress.start("near-cache-b", env);
    }

    @AfterAll
    static void stopIt() {
        if (b != null) {
            b.close();
        }
    }

    private OrgsClient a() {
        return new OrgsClient(DB, A.getLocalPort());
    }

    private OrgsClient b() {
        return new OrgsClient(DB, b.port());
    }

    private static AdminMetrics metricsOfA() {
        return new AdminMetrics(A.getAdminPort());
    }

    private static AdminMetrics metricsOfB() {
        return new AdminMetrics(b.adminPort());
    }

    @Test
    @Order(1)
    void aWriteThroughOneInstanceIsReadThroughTheOtherThoughItsNearCacheHeldTheOldFigures() {
        awaitListening();
        long org = ORG_BASE + 1;
        OrgsClient a = a();
        OrgsClient b = b();
        a.addUser(org, 30);
        warmNearCache(a, metricsOfA(), org, 1);
        warmNearCache(b, metricsOfB(), org, 1);
        long received = metricsOfB().meter(NEAR + "invalidations");

        a.addUser(org, 40);

        assertThat(Http.json(a.stats(org)))
                .as("the writing instance at once")
                .containsEntry("users", 2)
                .containsEntry("avgAge", 35.0);
        Map<String, Object> seen = await(
                "B's stats after A's write",
                () -> Http.json(b.stats(org)),
                stats -> Integer.valueOf(2).equals(stats.get("users")));
        assertThat(seen).containsEntry("avgAge", 35.0);
        assertThat(metricsOfB().meter(NEAR + "invalidations"))
                .as("invalidations B received")
                .isGreaterThan(received);
    }

    @Test
    @Order(2)
    void warmReadsAreNearCacheHitsThatSendRedisNoMget() {
        awaitListening();
        long org = ORG_BASE + 2;
        OrgsClient a = a();
        a.addUser(org, 50);
        warmNearCache(a, metricsOfA(), org, 1);
        AdminMetrics metrics = metricsOfA();
        long hits = metrics.meter(NEAR + "hits");
        long misses = metrics.meter(NEAR + "misses");
        long bypassed = metrics.meter(NEAR + "bypassed");
        long cacheHits = metrics.meter("dev.fortress.orgs.stats.cache.hits");
        long mgets = redisCalls("mget");
        int reads = 50;

        for (int i = 0; i < reads; i++) {
            HttpResponse<String> answer = a.stats(org);
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(answer.headers().firstValue("X-Cache")).contains("hit");
            assertThat(Http.json(answer)).containsEntry("users", 1);
        }

        long nearHits = metrics.meter(NEAR + "hits") - hits;
        long notNear = metrics.meter(NEAR + "misses") - misses + metrics.meter(NEAR + "bypassed") - bypassed;
        assertThat(nearHits).as("near-cache hits").isPositive().isEqualTo(reads - notNear);
        assertThat(metrics.meter("dev.fortress.orgs.stats.cache.hits") - cacheHits)
                .as("every near hit is a cache hit")
                .isEqualTo(reads);
        assertThat(redisCalls("mget") - mgets)
                .as("MGETs Redis served (%d reads, %d near hits)", reads, nearHits)
                .isLessThanOrEqualTo(notNear);
        String scrape =
                new Http("127.0.0.1", A.getAdminPort()).get("/prometheus").body();
        assertThat(scrape)
                .contains("fortress_orgs_stats_near_cache_hits_total ", "fortress_orgs_stats_near_cache_listening ");
    }

    @Test
    @Order(3)
    void aLostSubscriptionStopsTheNearCacheThoughRedisStillServes() {
        awaitListening();
        long org = ORG_BASE + 3;
        OrgsClient a = a();
        OrgsClient b = b();
        a.addUser(org, 20);
        warmNearCache(b, metricsOfB(), org, 1);
        try (Jedis redis = new Jedis("127.0.0.1", REDIS.port())) {
            // Redis keeps serving every command but SUBSCRIBE: the instances' subscriptions are gone
            // and cannot be made again, while A's PUBLISH goes to no one.
            redis.aclSetUser("default", "-subscribe");
            redis.clientKill(ClientKillParams.clientKillParams().type(ClientType.PUBSUB));
            try {
                await("B no longer listening", () -> metricsOfB().intGauge(NEAR + "listening"), l -> l == 0);
                long bypassed = metricsOfB().meter(NEAR + "bypassed");
                long nearHits = metricsOfB().meter(NEAR + "hits");
                a.addUser(org, 30);

                HttpResponse<String> answer = b.stats(org);

                assertThat(Http.json(answer))
                        .as("B at once, from Redis: its near-cache is not used")
                        .containsEntry("users", 2)
                        .containsEntry("avgAge", 25.0);
                assertThat(metricsOfB().meter(NEAR + "bypassed")).isEqualTo(bypassed + 1);
                assertThat(metricsOfB().meter(NEAR + "hits")).isEqualTo(nearHits);
            } finally {
                redis.aclSetUser("default", "+subscribe");
            }
        }

        awaitListening();
        long misses = metricsOfB().meter(NEAR + "misses");
        assertThat(Http.json(b.stats(org))).as("B once subscribed again").containsEntry("users", 2);
        assertThat(metricsOfB().meter(NEAR + "misses"))
                .as("emptied when subscribed again")
                .isEqualTo(misses + 1);
        warmNearCache(b, metricsOfB(), org, 2);
    }

    @Test
    @Order(4)
    void redisKilledAndRestartedServesNoStaleNearCacheEntry() {
        awaitListening();
        long org = ORG_BASE + 4;
        OrgsClient a = a();
        OrgsClient b = b();
        a.addUser(org, 60);
        warmNearCache(b, metricsOfB(), org, 1);
        long nearHits = metricsOfB().meter(NEAR + "hits");

        REDIS.kill();
        a.addUser(org, 70); // A cannot invalidate anything: Redis is gone
        HttpResponse<String> duringOutage = b.stats(org);

        assertThat(duringOutage.statusCode()).isEqualTo(200);
        assertThat(Http.json(duringOutage))
                .as("B at once, from the database")
                .containsEntry("users", 2)
                .containsEntry("avgAge", 65.0);
        assertThat(metricsOfB().meter(NEAR + "hits"))
                .as("B's near-cache not used")
                .isEqualTo(nearHits);

        REDIS.start(); // empty, on the same port
        awaitListening();
        warmNearCache(b, metricsOfB(), org, 2);
        a.addUser(org, 80);
        Map<String, Object> seen = await(
                "B's stats after A's write once Redis is back",
                () -> Http.json(b.stats(org)),
                stats -> Integer.valueOf(3).equals(stats.get("users")));
        assertThat(seen).containsEntry("avgAge", 70.0);
    }

    /** Reads {@code org} through {@code client} until a read is a near-cache hit with {@code users} users. */
    private static void warmNearCache(OrgsClient client, AdminMetrics metrics, long org, int users) {
        await(
                "a near-cache hit for org " + org,
                () -> {
                    long before = metrics.meter(NEAR + "hits");
                    Map<String, Object> stats = Http.json(client.stats(org));
                    assertThat(stats).containsEntry("users", users);
                    return metrics.meter(NEAR + "hits") > before;
                },
                hit -> hit);
    }

    /** Until both instances trust their subscription. */
    private static void awaitListening() {
        await("A listening", () -> metricsOfA().intGauge(NEAR + "listening"), l -> l == 1);
        await("B listening", () -> metricsOfB().intGauge(NEAR + "listening"), l -> l == 1);
    }

    /** Calls of {@code command} Redis has served since it started ({@code INFO commandstats}). */
    private static long redisCalls(String command) {
        try (Jedis redis = new Jedis("127.0.0.1", REDIS.port())) {
            for (String line : redis.info("commandstats").split("\r?\n")) {
                if (line.startsWith("cmdstat_" + command + ":calls=")) {
                    return Long.parseLong(line.substring(line.indexOf('=') + 1, line.indexOf(',')));
                }
            }
            return 0;
        }
    }
}
