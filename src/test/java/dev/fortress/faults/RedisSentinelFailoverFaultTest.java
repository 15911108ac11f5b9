package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FaultLoad;
import dev.fortress.testing.FaultLoad.Call;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.FaultUsers;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedSentinels;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * The Redis master killed under load, with a replica and three Sentinels of the test's own: the
 * Sentinels promote the replica and Fortress follows it without a restart. A write taken by the old
 * master and never replicated (the replication is cut just before it, so its invalidation is surely
 * lost, as Redis's asynchronous replication may lose it) must not leave its organisation's stats
 * stale once Fortress has seen the new master. Asserts counts, states and orderings, never durations.
 * <p>
 * The load's writes are transactions, which invalidate no stats: a POST /users whose invalidation
 * failed on the dead master would drop every entry by the older path (an invalidation Redis did not
 * take) and hide whether the master change alone does.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class RedisSentinelFailoverFaultTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedSentinels REDIS = new OwnedSentinels();
    private static final long ORG = FaultUsers.freshOrg();
    /** Written only by the test, around the failover; the load reads ORG .. ORG + 2 and writes ORG's transactions. */
    private static final long WATCHED = ORG + 3;

    private static final List<String> KEYS =
            List.of(TestKeys.of(DB, ORG), TestKeys.of(DB, ORG + 1), TestKeys.of(DB, ORG + 2), TestKeys.of(DB, WATCHED));
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            Stream.concat(
                            Stream.of(REDIS.overrides()),
                            // A request tries Redis again this soon after the breaker opened on the dead master.
                            Stream.of(ConfigOverride.config("redis.breakerOpenFor", "1s")))
                    .toArray(ConfigOverride[]::new));

    /** Liveness bounds only: how long to wait for something before failing, never asserted as a duration. */
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private static final String POST_TRANSACTION = "POST /transactions";
    private static final String CHANGES = "dev.fortress.cache.redis.master-changes";
    private static final String HITS = "dev.fortress.orgs.stats.cache.hits";
    private static final String GENERATION = "fortress:v1:org-stats-gen:{" + WATCHED + "}";

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    private Http api(int key) {
        return new Http("127.0.0.1", APP.getLocalPort()).as(KEYS.get(key));
    }

    private AdminMetrics metrics() {
        return new AdminMetrics(APP.getAdminPort());
    }

    @Test
    void masterKilledMidLoadCostsNoErrorFortressFollowsTheNewMasterAndNoStatsStayStale() throws Exception {
        HostAndPort first = REDIS.firstMaster();
        HostAndPort second = REDIS.firstReplica();
        Http watched = api(3);
        FaultUsers watchedUsers = new FaultUsers(watched, WATCHED);
        watchedUsers.existing(2);
        HttpResponse<String> cached = awaitHit(watched);
        assertThat(Http.json(cached)).containsEntry("users", 2);
        REDIS.awaitReplicated(); // the entry and its generation are on the replica too
        String generation = get(first, GENERATION);
        assertThat(metrics().intGauge(masterGauge(first)))
                .as("calls reach the first master")
                .isEqualTo(1);

        List<Long> existing = new FaultUsers(api(0), ORG).existing(10);
        FaultSummary summary = new FaultSummary("4e. redis master killed, Sentinel failover");
        FaultLoad load = FaultLoad.start(summary, 8, mix(existing));
        FaultLoad.hold(Duration.ofSeconds(2));
        long changesBefore = metrics().meter(CHANGES);

        // A write the old master takes and answers, and its replica never gets.
        REDIS.cutReplication();
        HttpResponse<String> write = watchedUsers.create(1000).send().get();
        assertThat(write.statusCode()).as(write.body()).isEqualTo(201);
        assertThat(get(first, GENERATION))
                .as("the write's invalidation, on the old master")
                .isEqualTo(Long.toString(Long.parseLong(generation) + 1));
        long killed = System.nanoTime();
        REDIS.killFirstMaster();

        await(() -> second.equals(REDIS.master()), "the Sentinels promote the replica");
        await(() -> metrics().meter(CHANGES) > changesBefore, "Fortress's calls reach the new master");
        long changeSeen = System.nanoTime();
        long hitsAtChange = metrics().meter(HITS);
        assertThat(get(second, GENERATION))
                .as("the invalidation was lost in the failover: the new master holds "
                        + "the entry cached before the write under a generation still current")
                .isEqualTo(generation);

        HttpResponse<String> afterChange = watched.get("/orgs/" + WATCHED + "/stats");
        HttpResponse<String> hitAfterChange = awaitHit(watched);
        Call firstHit =
                load.await(changeSeen, c -> "hit".equals(c.cache()), PATIENCE).orElse(null);
        await(
                () -> REDIS.clients(second).stream()
                        .anyMatch(c -> c.contains("name=fortress-org-stats ") && c.contains(" sub=1 ")),
                "the invalidation subscription is on the new master");
        await(() -> metrics().intGauge("dev.fortress.orgs.stats.near-cache.listening") == 1, "and trusted again");
        String health =
                new Http("127.0.0.1", APP.getAdminPort()).get("/healthcheck").body();
        FaultLoad.hold(Duration.ofSeconds(1));
        List<Call> calls = load.stop();

        long acknowledged = calls.stream()
                .filter(c -> c.route().equals(POST_TRANSACTION) && c.ok())
                .count();
        long stored = DB.jdbi()
                .withHandle(h -> h.select("select count(*) from transactions where org_id = ?", ORG)
                        .mapTo(Long.class)
                        .one());
        List<Call> errors = calls.stream().filter(c -> !c.ok()).toList();
        long serverErrors = errors.stream().filter(c -> c.status() >= 500).count();
        long statsDuring = calls.stream()
                .filter(c -> c.route().startsWith("GET /orgs") && c.started() > killed && c.ended() < changeSeen)
                .count();
        Duration recovery = firstHit == null ? null : Duration.ofNanos(firstHit.ended() - killed);
        summary.report(
                Math.max(0, acknowledged - stored),
                Math.max(0, stored - acknowledged),
                recovery,
                String.format(
                        "SIGKILL of the master, replica promoted by 3 Sentinels: %d non-2xx (%d 5xx); %d stats answers "
                                + "before Fortress saw the new master; recovery = kill until the first cache hit after it",
                        errors.size(), serverErrors, statsDuring));

        assertThat(errors).as("no request failed, during the failover or after").isEmpty();
        assertThat(Http.json(afterChange))
                .as("the first answer after the change counts the write")
                .containsEntry("users", 3);
        assertThat(Http.json(hitAfterChange))
                .as(() -> "and so does the first hit from the new master (once seen with 2: a lookup that read just "
                        + "before the epoch bump, closed since, OrgStatsEpochBumpRaceTest; "
                        + "now on it: " + watchedOn(second) + ")")
                .containsEntry("users", 3);
        assertThat(firstHit)
                .as("the load gets cache hits again after the new master")
                .isNotNull();
        assertThat(metrics().meter(HITS))
                .as("the stats cache hits counter moves again")
                .isGreaterThan(hitsAtChange);
        assertThat(metrics().meter(CHANGES) - changesBefore)
                .as("one master change seen")
                .isEqualTo(1);
        assertThat(metrics().intGauge(masterGauge(second)))
                .as("calls reach the new master")
                .isEqualTo(1);
        assertThat(metrics().intGauge(masterGauge(first)))
                .as("and no longer the old one")
                .isZero();
        assertThat(health)
                .as("the health check names the master now")
                .contains("redis at " + second + ", master '" + OwnedSentinels.MASTER_NAME + "' per the Sentinels");
        assertThat(stored)
                .as("one transaction row per 201")
                .isEqualTo(acknowledged)
                .isPositive();
    }

    /** Transactions of ORG's users, reads of them by id, and the stats of ORG .. ORG + 2, each org with its key. */
    private LongFunction<FaultLoad.Request> mix(List<Long> existing) {
        List<Http> apis = List.of(api(0), api(1), api(2));
        return n -> switch ((int) (n % 4)) {
            case 0 ->
                new FaultLoad.Request(
                        POST_TRANSACTION,
                        null,
                        () -> apis.get(0)
                                .postJson(
                                        "/transactions",
                                        "{\"userId\":" + existing.get((int) (n % existing.size()))
                                                + ",\"amount\":\"1.00\",\"createdAt\":\"" + Instant.now() + "\"}"));
            case 1 -> FaultUsers.readOne(apis.get(0), existing, n);
            default ->
                new FaultLoad.Request(
                        "GET /orgs/{id}/stats",
                        null,
                        () -> apis.get((int) (n % 3)).get("/orgs/" + (ORG + n % 3) + "/stats"));
        };
    }

    /** Asks for WATCHED's stats until one answer is a cache hit; that answer. */
    private static HttpResponse<String> awaitHit(Http watched) {
        List<HttpResponse<String>> last = new ArrayList<>(1);
        await(
                () -> {
                    last.clear();
                    last.add(watched.get("/orgs/" + WATCHED + "/stats"));
                    return "hit"
                            .equals(last.get(0).headers().firstValue("X-Cache").orElse(""));
                },
                "a cache hit for the watched organisation's stats");
        return last.get(0);
    }

    /** What {@code server} holds for WATCHED's stats (epoch, generation, entry), for a failure's message. */
    private static String watchedOn(HostAndPort server) {
        try (Jedis jedis = REDIS.connect(server)) {
            return jedis.mget("fortress:v1:org-stats-epoch", GENERATION, "fortress:v1:org-stats:{" + WATCHED + "}")
                    .toString();
        } catch (RuntimeException e) {
            return "unreadable: " + e;
        }
    }

    private static String masterGauge(HostAndPort master) {
        return "dev.fortress.cache.redis.master." + master;
    }

    private static String get(HostAndPort server, String key) {
        try (Jedis jedis = REDIS.connect(server)) {
            return jedis.get(key);
        }
    }

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
    }
}
