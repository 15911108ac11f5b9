package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FaultLoad;
import dev.fortress.testing.FaultLoad.Call;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.FaultUsers;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedRedis;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 2 of the fault suite: the writer pool exhausted by slow statements. Another session
 * holds a SHARE lock on {@code users} for 6 s or more, so every INSERT blocks in PostgreSQL and
 * keeps its pool connection (a deterministic stand-in for statements slowed by a stalled disk or
 * a long migration); with more writers than connections the rest must be refused after
 * maxWaitForConnection (503 + Retry-After) instead of queueing without bound, reads (another
 * pool, and not blocked by the lock) go on, health and metrics show the saturation, and the
 * blocked writes complete once the lock goes.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PoolExhaustionFaultTest {

    private static final int POOL = 2;
    /**
     * The lock is held 6 s or more, longer than the role's statement_timeout (5 s) lets an INSERT
     * wait, and its holder sits idle in its transaction meanwhile: this scenario is the pool's bound,
     * so both guards are out of its way here (StatementTimeoutFaultTest tests the first).
     */
    private static final TestDatabase DB = TestDatabase.create()
            .withRoleDefault("statement_timeout", "60s")
            .withRoleDefault("idle_in_transaction_session_timeout", "60s");

    private static final OwnedRedis REDIS = new OwnedRedis();
    private static final DropwizardAppExtension<FortressConfiguration> APP =
            FortressApp.on(DB, REDIS.override(), ConfigOverride.config("writerDatabase.maxSize", String.valueOf(POOL)));

    private static final Duration HOLD = Duration.ofSeconds(6);
    private static final Duration SLACK = Duration.ofSeconds(1);
    private static final Pattern POOL_SAMPLE =
            Pattern.compile("^fortress_db_pool_(active|waiting|max)\\{pool=\"writer\",?} (\\S+)$", Pattern.MULTILINE);

    @Test
    void aWriterPoolHeldBySlowStatementsRefusesNewWritesAfterMaxWaitAndShowsItsSaturation() throws Exception {
        Duration maxWait = APP.getConfiguration()
                .getWriterDatabase()
                .getMaxWaitForConnection()
                .toJavaDuration();
        long org = FaultUsers.freshOrg();
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, org));
        Http admin = new Http("127.0.0.1", APP.getAdminPort());
        FaultUsers users = new FaultUsers(api, org);

        FaultSummary summary = new FaultSummary("2. writer pool exhausted by slow statements");
        // Three writers per pool connection, and readers beside them.
        FaultLoad load = FaultLoad.start(summary, 4 * POOL, users.createsAndReads(4));
        FaultLoad.hold(Duration.ofSeconds(2));

        long held;
        long released;
        Map<String, Double> pool;
        String healthBody;
        List<Integer> readiness;
        try (Handle locker = DB.jdbi().open()) {
            locker.begin();
            locker.execute("lock table users in share mode"); // INSERTs wait; SELECTs do not
            held = System.nanoTime();
            // What an SRE sees meanwhile, asked beside the test. By maxWait the first waiters have
            // been refused. /healthcheck runs its checks one after another, and those before the
            // writer's (jobrunr, partitions) wait for the pool too.
            CompletableFuture<Map<String, Double>> saturated = CompletableFuture.supplyAsync(() -> {
                LockSupport.parkNanos(maxWait.plusMillis(200).toNanos());
                return awaitSaturation(admin);
            });
            CompletableFuture<String> health = CompletableFuture.supplyAsync(() -> {
                LockSupport.parkNanos(maxWait.plusMillis(200).toNanos());
                return writerHealth(admin);
            });
            // What a load balancer sees: saturation is degraded, not down (every instance's pool can
            // fill on the same lock; taking them all out together would turn 503s into an outage).
            AtomicBoolean holding = new AtomicBoolean(true);
            CompletableFuture<List<Integer>> polled = CompletableFuture.supplyAsync(() -> {
                List<Integer> statuses = new ArrayList<>();
                do {
                    statuses.add(new Http("127.0.0.1", APP.getLocalPort())
                            .get("/health-check")
                            .statusCode());
                    LockSupport.parkNanos(Duration.ofMillis(250).toNanos());
                } while (holding.get());
                return statuses;
            });
            LockSupport.parkNanos(held + HOLD.toNanos() - System.nanoTime());
            // HOLD is a minimum: the lock goes only once all of that has been seen under it, however
            // long a loaded machine took to look, so no observation can fall after the release.
            pool = saturated.get(30, TimeUnit.SECONDS);
            healthBody = health.get(30, TimeUnit.SECONDS);
            holding.set(false);
            readiness = polled.get(30, TimeUnit.SECONDS);
            locker.rollback();
            released = System.nanoTime();
        }
        Duration hold = Duration.ofNanos(released - held);
        Call firstCreated = load.await(released, c -> c.status() == 201, Duration.ofSeconds(10))
                .orElse(null);
        FaultLoad.hold(Duration.ofSeconds(2));
        List<Call> calls = load.stop();

        FaultUsers.Rows rows = users.verify(DB.jdbi(), calls);
        List<Call> refused = calls.stream().filter(c -> !c.ok()).toList();
        Duration recovery = firstCreated == null ? null : Duration.ofNanos(firstCreated.ended() - released);
        Duration slack = FaultLoad.stall(calls, c -> c.route().startsWith("GET"), SLACK);
        summary.report(
                rows.lost(),
                rows.duplicated(),
                recovery,
                String.format(
                        "pool of %d held %.1f s: %d x 503 + Retry-After after %d-%d ms (maxWait %d ms); writes under the lock "
                                + "finished after it, slowest %d ms; reads 200 throughout; /prometheus waiting=%.0f "
                                + "active=%.0f of %.0f; /healthcheck writer: %s",
                        POOL,
                        hold.toMillis() / 1000.0,
                        refused.size(),
                        refused.stream()
                                .map(Call::latency)
                                .min(Duration::compareTo)
                                .orElse(Duration.ZERO)
                                .toMillis(),
                        FaultLoad.maxLatency(refused).toMillis(),
                        maxWait.toMillis(),
                        FaultLoad.maxLatency(calls).toMillis(),
                        pool.get("waiting"),
                        pool.get("active"),
                        pool.get("max"),
                        healthBody.contains("saturated")
                                ? "saturated"
                                : healthBody.replaceAll(".*(Pool: [^.]*).*", "$1")));

        assertThat(refused).as("saturation was reached").isNotEmpty();
        assertThat(refused)
                .as("only writes are refused, each 503 with Retry-After: 1, during the hold")
                .allMatch(c -> c.route().equals(FaultUsers.ROUTE)
                        && c.status() == 503
                        && "1".equals(c.retryAfter())
                        && c.ended() >= held
                        && c.started() <= released);
        assertThat(refused)
                .as("refused after the pool's wait bound, not at once and not later")
                .allMatch(c -> c.latency().compareTo(maxWait.minusMillis(100)) >= 0
                        && c.latency().compareTo(maxWait.plus(slack)) <= 0);
        assertThat(FaultLoad.maxLatency(calls))
                .as("nothing queues beyond the hold plus one wait bound")
                .isLessThanOrEqualTo(hold.plus(maxWait).plus(slack));
        assertThat(calls)
                .filteredOn(c -> c.route().startsWith("GET"))
                .as("reads use the other pool")
                .isNotEmpty()
                .allMatch(c -> c.status() == 200);
        assertThat(pool.get("active")).as("every connection busy").isEqualTo(POOL);
        assertThat(pool.get("waiting")).as("requests waiting for one").isPositive();
        // The writer check either found no free connection either, or got one just freed and
        // reports the queue behind it.
        Matcher waiting = Pattern.compile("(\\d+) waiting").matcher(healthBody);
        assertThat(healthBody.contains("writer pool saturated")
                        || waiting.find() && Integer.parseInt(waiting.group(1)) > 0)
                .as("/healthcheck's writer check tells the saturation: " + healthBody)
                .isTrue();
        assertThat(readiness).as("readiness during the saturation").isNotEmpty().containsOnly(200);
        assertThat(firstCreated)
                .as("writes succeed again once the lock is gone")
                .isNotNull();
        assertThat(calls).filteredOn(c -> c.started() >= released).isNotEmpty().allMatch(Call::ok);

        assertThat(rows.lost()).as("every 201 is in the database").isZero();
        assertThat(rows.duplicated()).isZero();
        assertThat(rows.committedDespiteError())
                .as("a refusal for want of a connection never ran its INSERT")
                .isEmpty();
    }

    /** The writer check's message, from /healthcheck (which runs every check when asked). */
    private static String writerHealth(Http admin) {
        Map<?, ?> writer = (Map<?, ?>) Http.json(admin.get("/healthcheck")).get("writer");
        return (writer.get("healthy").equals(Boolean.TRUE) ? "healthy: " : "unhealthy: ") + writer.get("message");
    }

    /** The writer pool's samples from /prometheus once every connection is busy and someone waits (20 s at most). */
    private static Map<String, Double> awaitSaturation(Http admin) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        Map<String, Double> pool = new HashMap<>();
        while (System.nanoTime() < deadline) {
            Matcher m = POOL_SAMPLE.matcher(admin.get("/prometheus").body());
            while (m.find()) {
                pool.put(m.group(1), Double.parseDouble(m.group(2)));
            }
            if (pool.getOrDefault("waiting", 0.0) > 0 && pool.get("active").equals(pool.get("max"))) {
                break;
            }
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
        return pool;
    }
}
