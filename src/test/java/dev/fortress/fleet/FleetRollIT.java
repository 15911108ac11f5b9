package dev.fortress.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.fleet.FleetLoad.Call;
import dev.fortress.testing.Http;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 24, acceptance 2: {@code bin/cluster roll} (api1, api2, api3 in turn: drain in HAProxy,
 * SIGTERM, start, ready and warm, enable) under a load through the load balancer of reads and
 * keyed writes. Every request answers 2xx, none fails on the client's side, and each keyed write
 * acknowledged is exactly one row, even if HAProxy sent it twice (a retry of a keyed write is
 * answered from its stored first answer).
 */
@ExtendWith(Fleet.class)
class FleetRollIT {

    private static final int CLIENTS = 8;

    @Test
    void aWholeRollUnderLoadAnswersEveryRequestAndWritesEachKeyedWriteOnce() throws Exception {
        Http lb = Fleet.lb();
        String run = UUID.randomUUID().toString().substring(0, 8);
        // A user of its own: the transactions the load writes are the only ones it has.
        long user = FleetLoad.newUser(lb, "roll-" + run);

        Map<String, Long> before = new TreeMap<>();
        for (String api : Fleet.APIS) {
            before.put(api, Fleet.javaPid(api).orElseThrow(() -> new AssertionError(api + " runs no JVM")));
        }
        long lb4xx = Fleet.haproxyStat("fortress_api", "FRONTEND", "hrsp_4xx");
        long lb5xx = Fleet.haproxyStat("fortress_api", "FRONTEND", "hrsp_5xx");
        long retries = Fleet.haproxyStat("fortress_api", "BACKEND", "wretr");
        long redispatches = Fleet.haproxyStat("fortress_api", "BACKEND", "wredis");

        FleetLoad load = FleetLoad.start(CLIENTS, FleetLoad.readsAndKeyedWrites(lb, "roll-" + run, user));
        load.awaitMore(500, Duration.ofMinutes(2)); // under way before the first instance leaves
        long rollStarted = System.nanoTime();
        String roll = Fleet.clusterOk(Duration.ofMinutes(20), "roll");
        Duration rollTook = Duration.ofNanos(System.nanoTime() - rollStarted);
        load.awaitMore(500, Duration.ofMinutes(2)); // and on the new instances after the last came back
        List<Call> calls = load.stop();

        Map<String, Long> after = new TreeMap<>();
        for (String api : Fleet.APIS) {
            after.put(api, Fleet.javaPid(api).orElse(-1));
        }
        List<Call> failed = calls.stream().filter(c -> !c.ok()).toList();
        List<Call> writes = calls.stream().filter(c -> c.key() != null).toList();
        List<Long> acknowledged = FleetLoad.acknowledgedWrites(writes);
        List<Long> rows = FleetLoad.transactionRows(user);
        Map<String, Long> byStatus = FleetLoad.byStatus(calls);
        long replayed = writes.stream().filter(Call::replayed).count();
        long lbRetries = Fleet.haproxyStat("fortress_api", "BACKEND", "wretr") - retries;
        long lbRedispatches = Fleet.haproxyStat("fortress_api", "BACKEND", "wredis") - redispatches;
        Fleet.summary(
                "roll under load",
                String.format(
                        "%d requests by %d clients through 127.0.0.1:8090, answers %s; "
                                + "%d keyed POST /transactions (%d replayed), %d rows; HAProxy retried %d and redispatched %d; "
                                + "the roll took %d s",
                        calls.size(),
                        CLIENTS,
                        byStatus,
                        writes.size(),
                        replayed,
                        rows.size(),
                        lbRetries,
                        lbRedispatches,
                        rollTook.toSeconds()));

        assertThat(roll)
                .as("the roll went through api1, api2 and api3")
                .contains("roll: api1: ready", "roll: api2: ready", "roll: api3: ready", "roll: done");
        after.forEach((api, pid) -> assertThat(pid)
                .as(api + " runs a new JVM after the roll (was " + before.get(api) + ")")
                .isPositive()
                .isNotEqualTo(before.get(api)));
        assertThat(failed)
                .as("non-2xx answers and client-side failures (socket errors, timeouts) during the roll")
                .isEmpty();
        assertThat(writes).as("keyed writes sent").isNotEmpty();
        assertThat(Fleet.haproxyStat("fortress_api", "FRONTEND", "hrsp_5xx") - lb5xx)
                .as("5xx HAProxy answered")
                .isZero();
        assertThat(Fleet.haproxyStat("fortress_api", "FRONTEND", "hrsp_4xx") - lb4xx)
                .as("4xx HAProxy answered")
                .isZero();
        assertThat(acknowledged)
                .as("every keyed write answered 201, each with a transaction of its own")
                .hasSize(writes.size())
                .doesNotHaveDuplicates();
        assertThat(rows)
                .as("rows of the load's user: exactly the acknowledged writes, each once")
                .containsExactlyInAnyOrderElementsOf(acknowledged);
    }
}
