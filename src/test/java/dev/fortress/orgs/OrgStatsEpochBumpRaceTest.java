package dev.fortress.orgs;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.FortressApplication;
import dev.fortress.FortressConfiguration;
import dev.fortress.cache.NearCache;
import dev.fortress.cache.Redis;
import dev.fortress.db.Databases;
import dev.fortress.testing.FaultUsers;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.OwnedRedis;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import redis.clients.jedis.Jedis;

/**
 * After an invalidation Redis may lack (a master change; an invalidation Redis did not take) no
 * lookup that starts later answers an entry cached before it, not even one whose read of Redis was
 * in flight while the epoch bump ran: such a read may have been answered before the bump, epoch and
 * entry both old, and counted the bump as done by the time it was checked (the stale hit
 * RedisSentinelFailoverFaultTest once saw, with the heartbeat's bump).
 * <p>
 * The application's cache class on the application's databases and a Redis of the test's own,
 * driven directly: each round caches an organisation's stats, adds a user and leaves Redis without
 * its invalidation, then races the heartbeat's bump against lookups on three threads (which may
 * make the bump themselves). Every lookup starts after the user was committed, so each must count
 * it. Without taking the bumps done before the read, 7 and 12 of 100 rounds answered the old count
 * after a master change on a quiet machine, 62 and 97 of 400 beside the suite and a CPU-bound process;
 * without counting an invalidation not taken as a gap, 36 and 8 of 100 (tried).
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class OrgStatsEpochBumpRaceTest {

    private static final TestDatabase DB = TestDatabase.create();
    /** A Redis of the test's own: each round drops every entry, and one test refuses writes for a while. */
    private static final OwnedRedis REDIS = new OwnedRedis();

    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB, REDIS.override());

    private static final int ROUNDS = 100;
    private static final int LOOKERS = 3;

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    @Test
    void noLookupAfterAMasterChangeAnswersWhatWasCachedBeforeIt() throws Exception {
        race("a master change", (cache, org) -> cache.masterChanged());
    }

    /** Redis down for the invalidation: here it refuses writes (NOREPLICAS) and answers reads. */
    @Test
    void noLookupAfterAnInvalidationRedisDidNotTakeAnswersWhatWasCachedBeforeIt() throws Exception {
        try (Jedis admin = new Jedis("127.0.0.1", REDIS.port())) {
            race("an invalidation not taken", (cache, org) -> {
                admin.configSet("min-replicas-to-write", "1");
                try {
                    cache.invalidate(List.of(org));
                } finally {
                    admin.configSet("min-replicas-to-write", "0");
                }
            });
        }
    }

    /** What leaves Redis without an invalidation of a write that has committed. */
    private interface Gap {
        void open(OrgStatsCache cache, long org);
    }

    private void race(String what, Gap gap) throws Exception {
        FortressConfiguration config = APP.getConfiguration();
        Databases databases = APP.<FortressApplication>getApplication().databases();
        Redis redis = new Redis(config.getRedis(), new MetricRegistry());
        ExecutorService threads = Executors.newFixedThreadPool(LOOKERS);
        try {
            OrgStatsCache cache = new OrgStatsCache(
                    databases.reads(OrgStatsDao.class),
                    databases.writerPosition()::afterCommit,
                    redis,
                    NearCache.off(), // only Redis's entries: the near-cache has its own tests
                    config.getOrgs(),
                    Runnable::run,
                    APP.getObjectMapper(),
                    new MetricRegistry());
            long org = FaultUsers.freshOrg();
            long users = 0;
            long lookups = 0;
            long hitsAfterBump = 0;
            List<String> stale = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                addUser(org);
                cache.invalidate(List.of(org)); // as a write through the API does
                users++;
                awaitHit(cache, org, users);
                addUser(org); // committed; Redis will lack its invalidation
                users++;
                gap.open(cache, org);

                AtomicBoolean bumped = new AtomicBoolean();
                AtomicLong made = new AtomicLong();
                long expected = users;
                int r = round;
                List<Future<List<String>>> lookers = new ArrayList<>();
                for (int i = 0; i < LOOKERS; i++) {
                    lookers.add(threads.submit(() -> {
                        List<String> wrong = new ArrayList<>();
                        // Until one lookup after the heartbeat's bump has ended: those overlapping it, and one
                        // past it. A lookup may make the bump itself, when the writer's position is known.
                        boolean last;
                        do {
                            last = bumped.get();
                            OrgStatsCache.Lookup lookup = cache.get(org);
                            made.incrementAndGet();
                            if (lookup.stats().users() != expected) {
                                wrong.add("round " + r + ": " + lookup.stats().users() + " users (cache "
                                        + (lookup.hit() ? "hit" : "miss") + "), not " + expected);
                            }
                        } while (!last);
                        return wrong;
                    }));
                }
                cache.bumpEpochIfPending(true); // the heartbeat's, on this thread
                bumped.set(true);
                for (Future<List<String>> looker : lookers) {
                    stale.addAll(looker.get());
                }
                lookups += made.get();
                if (cache.get(org).hit()) {
                    hitsAfterBump++; // the entry made again after the bump is served
                }
            }
            System.out.printf(
                    "epoch bump race after %s: %d rounds, %d lookups beside the bump, %d wrong; "
                            + "a hit again after %d of the bumps%n",
                    what, ROUNDS, lookups, stale.size(), hitsAfterBump);
            assertThat(stale)
                    .as("lookups started after " + what + " that answered the count from before it")
                    .isEmpty();
            assertThat(hitsAfterBump)
                    .as("rounds whose entry was cached again after the bump: the cache still caches")
                    .isPositive();
        } finally {
            threads.shutdownNow();
            redis.stop();
        }
    }

    private static void addUser(long org) {
        DB.jdbi()
                .useHandle(h -> h.execute(
                        "insert into users (email, role, org_id, age) values (gen_random_uuid() || '@race.io', 'member', ?, 30)",
                        org));
    }

    /** Looks up until the answer came from Redis with {@code users} in it. */
    private static void awaitHit(OrgStatsCache cache, long org, long users) {
        for (int i = 0; i < 100; i++) {
            OrgStatsCache.Lookup lookup = cache.get(org);
            if (lookup.hit()) {
                assertThat(lookup.stats().users()).as("the cached count").isEqualTo(users);
                return;
            }
        }
        throw new AssertionError("org " + org + "'s stats were not cached after 100 lookups");
    }
}
