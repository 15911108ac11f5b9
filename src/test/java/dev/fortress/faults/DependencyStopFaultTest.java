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
import dev.fortress.testing.TestDatabase;
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
 * real process control, with the suite's own processes (a streaming replica cloned for the test,
 * a Redis started for it), so the shared ones other tests use are never touched. Neither costs a
 * single non-2xx: reads fall back to the writer, the cache fails open to the database; and each
 * comes back into use by itself when restarted.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class DependencyStopFaultTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedReplica REPLICA = OwnedReplica.of(DB);
    private static final OwnedRedis REDIS = new OwnedRedis();
    private static final DropwizardAppExtension<FortressConfiguration> APP =
            FortressApp.on(DB, DB.url(), REPLICA.url(), REDIS.override());

    private static final Duration DOWN = Duration.ofSeconds(3);
    private static final long ORG = ThreadLocalRandom.current().nextLong(1L << 40, 1L << 50);

    private final List<Long> existing = new ArrayList<>();
    private FaultUsers users;

    /** The replica's copy of the cluster goes now; the app, idle by then, stops right after. */
    @AfterAll
    static void dropReplica() {
        REPLICA.close();
    }

    private Http api() {
        return new Http("127.0.0.1", APP.getLocalPort());
    }

    private AdminMetrics metrics() {
        return new AdminMetrics(APP.getAdminPort());
    }

    @BeforeEach
    void usersAndReplicaInUse() {
        existing.addAll(new FaultUsers(api(), ORG).existing(10));
        users = new FaultUsers(api(), ORG);
        await(() -> metrics().intGauge("dev.fortress.db.replica.in-use") == 1, Duration.ofSeconds(20),
                "reads are on the replica");
    }

    /** Writes, reads by id and org stats (aggregated on the reader, cached in Redis), from 8 clients. */
    private LongFunction<FaultLoad.Request> mix() {
        Http api = api();
        return n -> switch ((int) (n % 4)) {
            case 0 -> users.create(n);
            case 1 -> FaultUsers.readOne(api, existing, n);
            default -> new FaultLoad.Request("GET /orgs/{id}/stats", null,
                    () -> api.get("/orgs/" + (ORG + n % 3) + "/stats"));
        };
    }

    @Test
    void replicaStoppedMidLoadCostsNoErrorReadsFallBackToTheWriterAndReturnAfterItsRestart() throws Exception {
        FaultSummary summary = new FaultSummary("4a. replica stopped");
        FaultLoad load = FaultLoad.start(summary, 8, mix());
        FaultLoad.hold(Duration.ofSeconds(2));
        long onWriterBefore = metrics().meter("dev.fortress.db.reads-on-writer");
        long stopping = System.nanoTime();
        long restarted;
        long onWriterDuring;
        try {
            REPLICA.stop();
            FaultLoad.hold(DOWN);
            onWriterDuring = metrics().meter("dev.fortress.db.reads-on-writer");
        } finally {
            REPLICA.start();
            restarted = System.nanoTime();
        }
        REPLICA.awaitStreaming(Duration.ofSeconds(30));
        await(() -> metrics().intGauge("dev.fortress.db.replica.in-use") == 1, Duration.ofSeconds(20),
                "reads return to the replica");
        Duration recovery = Duration.ofNanos(System.nanoTime() - restarted);
        long onWriterBack = metrics().meter("dev.fortress.db.reads-on-writer");
        FaultLoad.hold(Duration.ofMillis(1500));
        long onWriterAfter = metrics().meter("dev.fortress.db.reads-on-writer");
        List<Call> calls = load.stop();

        FaultUsers.Rows rows = users.verify(DB.jdbi(), calls);
        List<Call> errors = calls.stream().filter(c -> !c.ok()).toList();
        summary.report(rows.lost(), rows.duplicated(), recovery, String.format(
                "pg_ctl stop -m fast for %d s: %d non-2xx; %d reads on the writer meanwhile, %d once back on the "
                        + "replica; recovery = restart until reads are back on it",
                Duration.ofNanos(restarted - stopping).toSeconds(), errors.size(), onWriterDuring - onWriterBefore,
                onWriterAfter - onWriterBack));

        assertThat(errors).as("no request failed while the replica was away").isEmpty();
        assertThat(onWriterDuring - onWriterBefore).as("reads moved to the writer").isPositive();
        assertThat(onWriterAfter - onWriterBack).as("and back to the replica once it streams again").isZero();
        assertThat(rows.lost()).isZero();
        assertThat(rows.duplicated()).isZero();
        assertThat(rows.committedDespiteError()).isEmpty();
    }

    @Test
    void redisKilledMidLoadCostsNoErrorTheCacheFailsOpenAndHitsComeBackAfterItsRestart() throws Exception {
        Http api = api();
        api.get("/orgs/" + ORG + "/stats");
        await(() -> "hit".equals(api.get("/orgs/" + ORG + "/stats").headers().firstValue("X-Cache").orElse("")),
                Duration.ofSeconds(10), "the cache serves hits before the fault");
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
        Duration breakerOpenFor = APP.getConfiguration().getRedis().getBreakerOpenFor().toJavaDuration();
        Call firstHit = load.await(restarted, c -> "hit".equals(c.cache()),
                breakerOpenFor.plusSeconds(10)).orElse(null);
        FaultLoad.hold(Duration.ofSeconds(1));
        List<Call> calls = load.stop();

        FaultUsers.Rows rows = users.verify(DB.jdbi(), calls);
        List<Call> errors = calls.stream().filter(c -> !c.ok()).toList();
        List<Call> statsWhileDown = calls.stream()
                .filter(c -> c.route().startsWith("GET /orgs") && c.started() > killed && c.ended() < restarted)
                .toList();
        Duration recovery = firstHit == null ? null : Duration.ofNanos(firstHit.ended() - restarted);
        summary.report(rows.lost(), rows.duplicated(), recovery, String.format(
                "SIGKILL for %d s: %d non-2xx; %d stats answers meanwhile, all X-Cache: miss from the database; "
                        + "recovery = restart until the first hit (breaker open for %d s)",
                Duration.ofNanos(restarted - killed).toSeconds(), errors.size(), statsWhileDown.size(),
                breakerOpenFor.toSeconds()));

        assertThat(errors).as("no request failed while Redis was away").isEmpty();
        assertThat(statsWhileDown).as("stats answered from the database").isNotEmpty()
                .allMatch(c -> c.status() == 200 && "miss".equals(c.cache()));
        assertThat(metrics().meter("dev.fortress.cache.redis.errors")).as("the failures were counted")
                .isGreaterThan(redisErrorsBefore);
        assertThat(firstHit).as("the cache serves hits again after Redis's restart").isNotNull();
        assertThat(rows.lost()).isZero();
        assertThat(rows.duplicated()).isZero();
        assertThat(rows.committedDespiteError()).isEmpty();
    }

    private static void await(BooleanSupplier condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
    }
}
