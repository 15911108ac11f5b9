package dev.fortress.orgs;

import static dev.fortress.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.FortressConfiguration;
import dev.fortress.db.ConsistencyToken;
import dev.fortress.db.ConsistencyTokenFeature;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.ChildFortress;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedRedis;
import dev.fortress.testing.OwnedReplica;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;

/**
 * The stats cache while a replica lags: two instances, this one in the test's JVM ({@code A}) and
 * one in a JVM of its own ({@code B}), reading from one streaming replica of the test's own whose
 * replay the test pauses, and sharing a Redis of the test's own. The replica stays within both
 * instances' lag bounds (1 GiB, 1 h here), so reads without a token keep using it while it is
 * paused: the case where a miss after a write used to aggregate the old figures there and cache them
 * under the write's new generation. Entries are kept 10 minutes, far past every deadline below, so
 * old figures once cached would be seen. A's replica monitor looks only once, as it starts, so A never
 * learns from it that the replica has replayed a write. Deadlines only wait for a state; nothing is timed.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class StatsReplicaLagTest {

    private static final String NEAR = "dev.fortress.orgs.stats.near-cache.";
    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedReplica REPLICA = OwnedReplica.of(DB);
    private static final OwnedRedis REDIS = new OwnedRedis();
    private static final DropwizardAppExtension<FortressConfiguration> A = FortressApp.on(
            DB,
            DB.url(),
            REPLICA.url(),
            REDIS.override(),
            ConfigOverride.config("replica.maxLag", "1GiB"),
            ConfigOverride.config("replica.maxLagTime", "1h"),
            ConfigOverride.config("replica.checkInterval", "1h"),
            ConfigOverride.config("orgs.statsTtl", "10m"),
            ConfigOverride.config("orgs.nearCache.ttl", "10m"));
    private static final long ORG_BASE = ThreadLocalRandom.current().nextLong(100_000_000, 1_000_000_000) * 100;
    private static ChildFortress b;
    private static OrgsClient clientOfA;
    private static OrgsClient clientOfB;

    @BeforeAll
    static void startTheSecondInstance() {
        Map<String, String> env = ChildFortress.environment(DB);
        env.put("DATABASE_URL_READ", REPLICA.url());
        env.put("REDIS_URL", "redis://127.0.0.1:" + REDIS.port());
        env.put("REPLICA_MAX_LAG", "1GiB");
        env.put("REPLICA_MAX_LAG_TIME", "1h");
        env.put("ORG_STATS_TTL", "10m");
        env.put("ORG_STATS_NEAR_CACHE_TTL", "10m");
        b = ChildFortress.start("stats-lag-b", env);
        clientOfA = new OrgsClient(DB, A.getLocalPort());
        clientOfB = new OrgsClient(DB, b.port());
        // Keys are looked up where reads go, the replica: each test's keys are made, and replayed, now.
        for (long org = ORG_BASE + 1; org <= ORG_BASE + 5; org++) {
            clientOfA.as(org);
            clientOfB.as(org);
        }
        String written = DB.jdbi()
                .withHandle(h -> h.createQuery("select cast(pg_current_wal_lsn() as text)")
                        .mapTo(String.class)
                        .one());
        await(
                "the replica replays the keys",
                () -> queryReplica("select cast(pg_last_wal_replay_lsn() >= cast(? as pg_lsn) as int)", written),
                n -> n == 1);
    }

    @AfterAll
    static void stopIt() {
        if (b != null) {
            b.close();
        }
        REPLICA.close();
    }

    @AfterEach
    void resumeReplay() {
        REPLICA.execute("select pg_wal_replay_resume()");
    }

    @Test
    void aWriteThroughOneInstanceIsReadThroughTheOtherWhileTheReplicaHasNotReplayedIt() {
        long org = ORG_BASE + 1;
        OrgsClient a = clientOfA;
        OrgsClient b = clientOfB;
        firstUserCachedByBThenReplayPaused(org, 30);
        long onWriter = metricsOfB().meter("dev.fortress.db.reads-on-writer");

        a.addUser(org, 40);

        assertThat(usersOnReplica(org))
                .as("the replica has not replayed the write")
                .isEqualTo(1);
        assertThat(replicaInUse(metricsOfB()))
                .as("yet reads without a token still use it on B")
                .isEqualTo(1);
        Map<String, Object> seen = await(
                "B's stats after A's write",
                () -> Http.json(b.stats(org)),
                stats -> !Integer.valueOf(1).equals(stats.get("users")));
        assertThat(seen).containsEntry("users", 2).containsEntry("avgAge", 35.0);
        assertThat(metricsOfB().meter("dev.fortress.db.reads-on-writer"))
                .as("B's miss aggregated on the writer")
                .isGreaterThan(onWriter);
        assertThat(Http.json(a.stats(org))).as("A, from the entry B stored").containsEntry("users", 2);
        assertThat(usersOnReplica(org)).as("the replica is still behind").isEqualTo(1);

        REPLICA.execute("select pg_wal_replay_resume()");
        await("the replica replays the write", () -> usersOnReplica(org), n -> n == 2);
        for (OrgsClient client : List.of(a, b)) {
            HttpResponse<String> answer = client.stats(org);
            assertThat(Http.json(answer))
                    .as("once replayed, still cached")
                    .containsEntry("users", 2)
                    .containsEntry("avgAge", 35.0);
            assertThat(answer.headers().firstValue("X-Cache")).contains("hit");
        }
        assertThat(cachedUsers(org)).as("the entry in Redis").isEqualTo(2);
    }

    @Test
    void theWritingInstanceReadsItsWriteAtOnceAndTheWritesTokenIsThePositionStoredWithIt() {
        long org = ORG_BASE + 2;
        OrgsClient a = clientOfA;
        OrgsClient b = clientOfB;
        firstUserCachedByBThenReplayPaused(org, 20);

        HttpResponse<String> written = a.addUserAnswer(org, 30);
        HttpResponse<String> read = a.stats(org);

        assertThat(Http.json(read))
                .as("A at once, though the replica has not replayed it")
                .containsEntry("users", 2)
                .containsEntry("avgAge", 25.0);
        assertThat(read.headers().firstValue("X-Cache")).contains("miss");
        ConsistencyToken token = ConsistencyToken.parse(
                written.headers().firstValue(ConsistencyTokenFeature.HEADER).orElseThrow());
        assertThat(storedPosition(Positions.key(org)))
                .as("the org's position: the write's token, read once")
                .isEqualTo(token);
        assertThat(usersOnReplica(org)).isEqualTo(1);
        await(
                "B's stats after A's write",
                () -> Http.json(b.stats(org)),
                stats -> Integer.valueOf(2).equals(stats.get("users")));
    }

    @Test
    void aGenerationWithoutAPositionIsFilledPastTheWritersPositionAndGetsOne() {
        long org = ORG_BASE + 3;
        OrgsClient a = clientOfA;
        OrgsClient b = clientOfB;
        firstUserCachedByBThenReplayPaused(org, 50);
        a.addUser(org, 70);
        ConsistencyToken written = storedPosition(Positions.key(org));
        // As a version of Fortress without positions, or an eviction, leaves it: a generation that
        // counts the write, no position; then no entry anywhere.
        try (Jedis redis = redis()) {
            redis.del(Positions.key(org), OrgStatsCache.entryKey(org));
            redis.publish(OrgStatsCache.channel(0), Long.toString(org));
        }

        Map<String, Object> seen = await(
                "B's stats after A's write",
                () -> Http.json(b.stats(org)),
                stats -> !Integer.valueOf(1).equals(stats.get("users")));

        assertThat(seen).containsEntry("users", 2).containsEntry("avgAge", 60.0);
        assertThat(usersOnReplica(org)).isEqualTo(1);
        ConsistencyToken healed = storedPosition(Positions.key(org));
        assertThat(healed).as("the writer's position, stored by the miss").isNotNull();
        assertThat(Long.compareUnsigned(healed.position(), written.position())).isGreaterThanOrEqualTo(0);
    }

    @Test
    void redisRestartedEmptyAfterAWriteLosesNotTheWrite() {
        long org = ORG_BASE + 4;
        OrgsClient a = clientOfA;
        OrgsClient b = clientOfB;
        firstUserCachedByBThenReplayPaused(org, 10);
        a.addUser(org, 20);

        REDIS.kill(); // its generations and positions, the write's included, are gone
        REDIS.start();
        await(
                "both instances listening again",
                () -> metricsOfA().intGauge(NEAR + "listening") + metricsOfB().intGauge(NEAR + "listening"),
                n -> n == 2);
        Map<String, Object> seen = Http.json(b.stats(org));

        assertThat(seen)
                .as("B, after Redis lost the write's generation")
                .containsEntry("users", 2)
                .containsEntry("avgAge", 15.0);
        assertThat(usersOnReplica(org))
                .as("the replica has not replayed the write")
                .isEqualTo(1);
        assertThat(storedPosition(Positions.EPOCH_KEY))
                .as("the epoch's position, taken from the writer")
                .isNotNull();
    }

    @Test
    void aMissAfterAWriteTheReplicaHasReplayedAsksItAndReadsThereThoughNoMonitorSawIt() {
        long org = ORG_BASE + 5;
        OrgsClient a = clientOfA;
        OrgsClient b = clientOfB;
        awaitOnReplica(b, org, 1, 40);
        warm(a, org, 1);
        b.addUser(org, 60);
        await("the replica replays B's write", () -> usersOnReplica(org), n -> n == 2);
        long onWriter = metricsOfA().meter("dev.fortress.db.reads-on-writer");
        long asked = metricsOfA().timerCount("dev.fortress.db.reader.ConsistencyTokenDao.replayedPast");

        Map<String, Object> seen = await(
                "A's stats after B's write",
                () -> Http.json(a.stats(org)),
                stats -> !Integer.valueOf(1).equals(stats.get("users")));

        assertThat(seen).containsEntry("users", 2).containsEntry("avgAge", 50.0);
        assertThat(metricsOfA().timerCount("dev.fortress.db.reader.ConsistencyTokenDao.replayedPast"))
                .as("A asked the replica how far it had replayed")
                .isGreaterThan(asked);
        assertThat(metricsOfA().meter("dev.fortress.db.reads-on-writer"))
                .as("and read there, not on the writer")
                .isEqualTo(onWriter);
    }

    @Test
    void aLowerPositionStoredAfterAHigherOneDoesNotLowerIt() {
        String key = "fortress:test:position:" + ThreadLocalRandom.current().nextLong(Long.MAX_VALUE);
        ConsistencyToken low = ConsistencyToken.parse("0/FFFFFFFF");
        ConsistencyToken high = ConsistencyToken.parse("1/0"); // larger, though its low half is smaller
        ConsistencyToken higher = ConsistencyToken.parse("1/10");
        try (Jedis redis = redis()) {
            raise(redis, key, high);
            raise(redis, key, low); // a concurrent write that read its position first, stored last
            assertThat(storedPosition(key)).isEqualTo(high);
            raise(redis, key, higher);
            assertThat(storedPosition(key)).isEqualTo(higher);
            assertThat(redis.ttl(key)).as("lives as the generation does").isPositive();

            redis.set(key, "garbage");
            raise(redis, key, low);
            assertThat(storedPosition(key)).as("anything else is replaced").isEqualTo(low);
            redis.del(key);
        }
    }

    private static void raise(Jedis redis, String key, ConsistencyToken position) {
        Pipeline p = redis.pipelined();
        var raised = Positions.raise(p, key, Positions.format(position), 600);
        p.sync();
        raised.get();
    }

    /**
     * The org's first user, of {@code age}, written through A and replayed; its stats held in B's
     * near-cache (and read by A); then the replica's replay paused, so that the next write is on the
     * writer only.
     */
    private static void firstUserCachedByBThenReplayPaused(long org, int age) {
        awaitOnReplica(clientOfA, org, 1, age);
        warm(clientOfB, org, 1);
        REPLICA.execute("select pg_wal_replay_pause()");
        awaitPaused();
    }

    /** Adds a user of {@code age} to a new org through {@code client}, and waits for the replica to have it. */
    private static void awaitOnReplica(OrgsClient client, long org, int users, int age) {
        client.addUser(org, age);
        await("the replica replays org " + org + "'s first user", () -> usersOnReplica(org), n -> n == users);
        await(
                "both instances use the replica",
                () -> replicaInUse(metricsOfA()) + replicaInUse(metricsOfB()),
                n -> n == 2);
    }

    /**
     * Reads through {@code client} until it answers {@code users} from its near-cache: that instance
     * holds the old figures, and has a key of the org before replay is paused (keys are read on the replica).
     */
    private static void warm(OrgsClient client, long org, int users) {
        AdminMetrics metrics = client == clientOfA ? metricsOfA() : metricsOfB();
        await(
                "a near-cache hit for org " + org,
                () -> {
                    long before = metrics.meter(NEAR + "hits");
                    assertThat(Http.json(client.stats(org))).containsEntry("users", users);
                    return metrics.meter(NEAR + "hits") > before;
                },
                hit -> hit);
        assertThat(Http.json(clientOfA.stats(org))).containsEntry("users", users); // A's key, too
    }

    private static void awaitPaused() {
        await(
                "replay paused",
                () -> queryReplica("select cast(pg_get_wal_replay_pause_state() = 'paused' as int)", null),
                n -> n == 1);
    }

    private static long usersOnReplica(long org) {
        return queryReplica("select count(*) from users where org_id = ?", org);
    }

    private static long queryReplica(String sql, Object parameter) {
        try (Connection c = DriverManager.getConnection(REPLICA.url(), DB.user(), DB.password());
                PreparedStatement st = c.prepareStatement(sql)) {
            if (parameter != null) {
                st.setObject(1, parameter);
            }
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(sql + " on the replica: " + e.getMessage(), e);
        }
    }

    private static int replicaInUse(AdminMetrics metrics) {
        return metrics.intGauge("dev.fortress.db.replica." + REPLICA.name() + ".in-use");
    }

    private static ConsistencyToken storedPosition(String key) {
        try (Jedis redis = redis()) {
            return Positions.parse(redis.get(key));
        }
    }

    private static long cachedUsers(long org) {
        try (Jedis redis = redis()) {
            return new ObjectMapper()
                    .readTree(redis.get(OrgStatsCache.entryKey(org)))
                    .get("users")
                    .asLong();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Jedis redis() {
        return new Jedis("127.0.0.1", REDIS.port());
    }

    private static AdminMetrics metricsOfA() {
        return new AdminMetrics(A.getAdminPort());
    }

    private static AdminMetrics metricsOfB() {
        return new AdminMetrics(b.adminPort());
    }
}
