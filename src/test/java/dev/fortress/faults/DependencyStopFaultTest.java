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
import dev.fortress.testing.OwnedRedis;
import dev.fortress.testing.OwnedReplica;
import dev.fortress.testing.Serial;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 4 of the fault suite: the dependencies Fortress can do without, stopped under load by
 * real process control, with the suite's own processes (two streaming replicas cloned for the
 * test, a Redis started for it), so the shared ones other tests use are never touched. None costs
 * a single non-2xx: reads move to the other replica, or to the writer when both are away; a
 * lagging replica is left out until it catches up; the cache fails open to the database; and each
 * comes back into use by itself.
 */
// Serial: its replicas replay every test database's writes, and it counts reads by server with a 1 MiB lag bound.
@Serial
@ExtendWith(DropwizardExtensionsSupport.class)
class DependencyStopFaultTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedReplica REPLICA = OwnedReplica.of(DB);
    private static final OwnedReplica REPLICA2 = OwnedReplica.of(DB);
    private static final OwnedRedis REDIS = new OwnedRedis();
    private static final long ORG = ThreadLocalRandom.current().nextLong(1L << 40, 1L << 50);
    /**
     * A key for each of the three organisations whose stats the load reads (ORG's users are the
     * load's), made before the app starts so the replicas have them when they are first looked up.
     */
    private static final List<String> KEYS =
            List.of(TestKeys.of(DB, ORG), TestKeys.of(DB, ORG + 1), TestKeys.of(DB, ORG + 2));

    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            DB.url(),
            "jdbc:postgresql://" + REPLICA.name() + "," + REPLICA2.name() + "/" + DB.name(),
            REDIS.override(),
            ConfigOverride.config("replica.maxLag", "1MiB"),
            ConfigOverride.config("replica.maxLagTime", "2s"));

    private static final Duration DOWN = Duration.ofSeconds(3);
    /** GET /users/{id}'s statement on the writer. */
    private static final String BY_ID_ON_WRITER = "dev.fortress.db.writer.UserReadDao.findById";

    private final List<Long> existing = new ArrayList<>();
    private FaultUsers users;

    /** The replicas' copies of the cluster go now; the app, idle by then, stops right after. */
    @AfterAll
    static void dropReplicas() {
        REPLICA.close();
        REPLICA2.close();
    }

    /** A client of ORG + {@code offset}. */
    private Http api(int offset) {
        return new Http("127.0.0.1", APP.getLocalPort()).as(KEYS.get(offset));
    }

    private Http api() {
        return api(0);
    }

    private AdminMetrics metrics() {
        return new AdminMetrics(APP.getAdminPort());
    }

    @BeforeEach
    void usersAndReplicaInUse() {
        existing.addAll(new FaultUsers(api(), ORG).existing(10));
        users = new FaultUsers(api(), ORG);
        await(() -> inUse(REPLICA) == 1 && inUse(REPLICA2) == 1, Duration.ofSeconds(20), "reads are on both replicas");
    }

    private int inUse(OwnedReplica replica) {
        return metrics().intGauge("dev.fortress.db.replica." + replica.name() + ".in-use");
    }

    private long reads(OwnedReplica replica) {
        return metrics().meter("dev.fortress.db.replica." + replica.name() + ".reads");
    }

    /** Writes, reads by id and org stats (aggregated on the reader, cached in Redis), from 8 clients, each org with its key. */
    private LongFunction<FaultLoad.Request> mix() {
        List<Http> apis = List.of(api(0), api(1), api(2));
        return n -> switch ((int) (n % 4)) {
            case 0 -> users.create(n);
            case 1 -> FaultUsers.readOne(apis.get(0), existing, n);
            default ->
                new FaultLoad.Request(
                        "GET /orgs/{id}/stats",
                        null,
                        () -> apis.get((int) (n % 3)).get("/orgs/" + (ORG + n % 3) + "/stats"));
        };
    }

    @Test
    void oneOfTwoReplicasStoppedMidLoadCostsNoErrorTheOtherServesAndItReturnsAfterItsRestart() throws Exception {
        FaultSummary summary = new FaultSummary("4a. one of two replicas stopped");
        FaultLoad load = FaultLoad.start(summary, 8, mix());
        FaultLoad.hold(Duration.ofSeconds(2));
        long otherBefore = reads(REPLICA2);
        long onWriterBefore = metrics().meter("dev.fortress.db.reads-on-writer");
        long stopping = System.nanoTime();
        long restarted;
        long stoppedReadsDuring;
        long otherDuring;
        long onWriterDuring;
        try {
            REPLICA.stop();
            await(() -> inUse(REPLICA) == 0, Duration.ofSeconds(10), "the stopped replica is out");
            long stoppedReads = reads(REPLICA);
            FaultLoad.hold(DOWN);
            stoppedReadsDuring = reads(REPLICA) - stoppedReads;
            otherDuring = reads(REPLICA2) - otherBefore;
            onWriterDuring = metrics().meter("dev.fortress.db.reads-on-writer") - onWriterBefore;
        } finally {
            REPLICA.start();
            restarted = System.nanoTime();
        }
        REPLICA.awaitStreaming(Duration.ofSeconds(30));
        await(() -> inUse(REPLICA) == 1, Duration.ofSeconds(20), "reads return to the restarted replica");
        Duration recovery = Duration.ofNanos(System.nanoTime() - restarted);
        long backBefore = reads(REPLICA);
        FaultLoad.hold(Duration.ofMillis(1500));
        long backAfter = reads(REPLICA);
        List<Call> calls = load.stop();

        FaultUsers.Rows rows = users.verify(DB.jdbi(), calls);
        List<Call> errors = calls.stream().filter(c -> !c.ok()).toList();
        summary.report(
                rows.lost(),
                rows.duplicated(),
                recovery,
                String.format(
                        "pg_ctl stop -m fast of one for %d s: %d non-2xx; meanwhile %d reads on the other replica, %d on the "
                                + "writer (reads under way at the stop, rerun), %d on the stopped one; recovery = restart until "
                                + "reads are back on it",
                        Duration.ofNanos(restarted - stopping).toSeconds(),
                        errors.size(),
                        otherDuring,
                        onWriterDuring,
                        stoppedReadsDuring));

        assertThat(errors).as("no request failed while one replica was away").isEmpty();
        assertThat(stoppedReadsDuring)
                .as("none sent to the stopped replica once out")
                .isZero();
        assertThat(otherDuring).as("the other replica served the reads").isPositive();
        assertThat(backAfter - backBefore)
                .as("and the restarted one gets reads again")
                .isPositive();
        rows.assertIntact();
    }

    @Test
    void bothReplicasStoppedMidLoadCostsNoErrorReadsGoToTheWriterAndReturnAfterTheirRestart() throws Exception {
        FaultSummary summary = new FaultSummary("4c. both replicas stopped");
        FaultLoad load = FaultLoad.start(summary, 8, mix());
        FaultLoad.hold(Duration.ofSeconds(2));
        long onWriterBefore = metrics().meter("dev.fortress.db.reads-on-writer");
        long byIdOnWriterBefore = metrics().timerCount(BY_ID_ON_WRITER);
        long stopping = System.nanoTime();
        long restarted;
        long onWriterDuring;
        long byIdOnWriterDuring;
        try {
            REPLICA.stop();
            REPLICA2.stop();
            FaultLoad.hold(DOWN);
            onWriterDuring = metrics().meter("dev.fortress.db.reads-on-writer") - onWriterBefore;
            byIdOnWriterDuring = metrics().timerCount(BY_ID_ON_WRITER) - byIdOnWriterBefore;
            assertThat(metrics().intGauge("dev.fortress.db.replicas.usable")).isZero();
        } finally {
            REPLICA.start();
            REPLICA2.start();
            restarted = System.nanoTime();
        }
        REPLICA.awaitStreaming(Duration.ofSeconds(30));
        REPLICA2.awaitStreaming(Duration.ofSeconds(30));
        await(() -> inUse(REPLICA) == 1 && inUse(REPLICA2) == 1, Duration.ofSeconds(20), "reads return to both");
        Duration recovery = Duration.ofNanos(System.nanoTime() - restarted);
        long onWriterBack = metrics().meter("dev.fortress.db.reads-on-writer");
        long byIdOnWriterBack = metrics().timerCount(BY_ID_ON_WRITER);
        FaultLoad.hold(Duration.ofMillis(1500));
        long onWriterAfter = metrics().meter("dev.fortress.db.reads-on-writer");
        long byIdOnWriterAfter = metrics().timerCount(BY_ID_ON_WRITER);
        List<Call> calls = load.stop();

        FaultUsers.Rows rows = users.verify(DB.jdbi(), calls);
        List<Call> errors = calls.stream().filter(c -> !c.ok()).toList();
        summary.report(
                rows.lost(),
                rows.duplicated(),
                recovery,
                String.format(
                        "pg_ctl stop -m fast of both for %d s: %d non-2xx; %d reads on the writer meanwhile, %d once back on "
                                + "the replicas; recovery = restart until reads are back on both",
                        Duration.ofNanos(restarted - stopping).toSeconds(),
                        errors.size(),
                        onWriterDuring,
                        onWriterAfter - onWriterBack));

        assertThat(errors).as("no request failed while both replicas were away").isEmpty();
        assertThat(onWriterDuring).as("reads moved to the writer").isPositive();
        assertThat(byIdOnWriterDuring).as("reads by id among them").isPositive();
        // Not every read: a stats miss right after one of the load's writes still reads the writer when
        // the replica it asks has not replayed that write yet (stats-cache.md#positions).
        assertThat(byIdOnWriterAfter - byIdOnWriterBack)
                .as("and back to the replicas once they stream again")
                .isZero();
        rows.assertIntact();
    }

    @Test
    void oneOfTwoReplicasLaggingIsLeftOutUntilItCatchesUpAtNoError() throws Exception {
        FaultSummary summary = new FaultSummary("4d. one of two replicas lagging");
        FaultLoad load = FaultLoad.start(summary, 8, mix());
        FaultLoad.hold(Duration.ofSeconds(2));
        long paused = System.nanoTime();
        long resumed;
        long laggingReads;
        try {
            REPLICA2.execute("select pg_wal_replay_pause()");
            await(() -> inUse(REPLICA2) == 0, Duration.ofSeconds(30), "the lagging replica is out past the bound");
            long before = reads(REPLICA2);
            FaultLoad.hold(DOWN);
            laggingReads = reads(REPLICA2) - before;
        } finally {
            REPLICA2.execute("select pg_wal_replay_resume()");
            resumed = System.nanoTime();
        }
        await(() -> inUse(REPLICA2) == 1, Duration.ofSeconds(30), "back in use once caught up");
        Duration recovery = Duration.ofNanos(System.nanoTime() - resumed);
        long backBefore = reads(REPLICA2);
        FaultLoad.hold(Duration.ofMillis(1500));
        long backAfter = reads(REPLICA2);
        List<Call> calls = load.stop();

        FaultUsers.Rows rows = users.verify(DB.jdbi(), calls);
        List<Call> errors = calls.stream().filter(c -> !c.ok()).toList();
        summary.report(
                rows.lost(),
                rows.duplicated(),
                recovery,
                String.format(
                        "replay paused for %d s while writes went on: %d non-2xx; %d reads on it once past the bound; "
                                + "recovery = resume until reads are back on it",
                        Duration.ofNanos(resumed - paused).toSeconds(), errors.size(), laggingReads));

        assertThat(errors).as("no request failed while one replica lagged").isEmpty();
        assertThat(laggingReads).as("no read on the lagging replica").isZero();
        assertThat(backAfter - backBefore)
                .as("it gets reads again after catching up")
                .isPositive();
        assertThat(rows.lost()).isZero();
        assertThat(rows.duplicated()).isZero();
    }

    @Test
    void redisKilledMidLoadCostsNoErrorTheCacheFailsOpenAndHitsComeBackAfterItsRestart() throws Exception {
        Http api = api();
        api.get("/orgs/" + ORG + "/stats");
        await(
                () -> "hit"
                        .equals(api.get("/orgs/" + ORG + "/stats")
                                .headers()
                                .firstValue("X-Cache")
                                .orElse("")),
                Duration.ofSeconds(10),
                "the cache serves hits before the fault");
        long redisErrorsBefore = metrics().meter("dev.fortress.cache.redis.errors");

        FaultSummary summary = new FaultSummary("4b. redis killed");
        FaultLoad load = FaultLoad.start(summary, 8, mix());
        FaultLoad.hold(Duration.ofSeconds(2));
        long killed = System.nanoTime();
        long restarted;
        try {
            REDIS.kill();
            FaultLoad.hold(DOWN);
        } finally {
            REDIS.start();
            restarted = System.nanoTime();
        }
        // Back once the circuit breaker lets a request try Redis again (redis.breakerOpenFor).
        Duration breakerOpenFor =
                APP.getConfiguration().getRedis().getBreakerOpenFor().toJavaDuration();
        Call firstHit = load.await(restarted, c -> "hit".equals(c.cache()), breakerOpenFor.plusSeconds(10))
                .orElse(null);
        FaultLoad.hold(Duration.ofSeconds(1));
        List<Call> calls = load.stop();

        FaultUsers.Rows rows = users.verify(DB.jdbi(), calls);
        List<Call> errors = calls.stream().filter(c -> !c.ok()).toList();
        List<Call> statsWhileDown = calls.stream()
                .filter(c -> c.route().startsWith("GET /orgs") && c.started() > killed && c.ended() < restarted)
                .toList();
        Duration recovery = firstHit == null ? null : Duration.ofNanos(firstHit.ended() - restarted);
        summary.report(
                rows.lost(),
                rows.duplicated(),
                recovery,
                String.format(
                        "SIGKILL for %d s: %d non-2xx; %d stats answers meanwhile, all X-Cache: miss from the database; "
                                + "recovery = restart until the first hit (breaker open for %d s)",
                        Duration.ofNanos(restarted - killed).toSeconds(),
                        errors.size(),
                        statsWhileDown.size(),
                        breakerOpenFor.toSeconds()));

        assertThat(errors).as("no request failed while Redis was away").isEmpty();
        assertThat(statsWhileDown)
                .as("stats answered from the database")
                .isNotEmpty()
                .allMatch(c -> c.status() == 200 && "miss".equals(c.cache()));
        assertThat(metrics().meter("dev.fortress.cache.redis.errors"))
                .as("the failures were counted")
                .isGreaterThan(redisErrorsBefore);
        assertThat(firstHit)
                .as("the cache serves hits again after Redis's restart")
                .isNotNull();
        rows.assertIntact();
    }

    private static void await(BooleanSupplier condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
    }
}
