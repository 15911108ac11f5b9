package dev.fortress.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.fleet.FleetLoad.Call;
import dev.fortress.testing.Http;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 24: {@code bin/cluster kill api2} (SIGKILL of every process of the host) under a load
 * through the load balancer of reads and keyed writes. Only requests in flight at the kill may
 * fail (HAProxy retries those that may run twice on another instance: GETs and keyed writes, so
 * usually none does); once HAProxy's checks have marked api2 down, every request answers 2xx; each
 * acknowledged keyed write is one row. The host is started again at the end and HAProxy sends it
 * traffic again.
 */
@ExtendWith(Fleet.class)
class FleetApiKillIT {

    private static final int CLIENTS = 8;
    private static final String VICTIM = "api2";

    @Test
    void killingAnApiHostFailsAtMostItsRequestsInFlightAndNoneAfterHaproxyMarksItDown() throws Exception {
        Http lb = Fleet.lb();
        String run = "kill-" + UUID.randomUUID().toString().substring(0, 8);
        long user = FleetLoad.newUser(lb, run);
        assertThat(Fleet.haproxyField("fortress_api", VICTIM, "status"))
                .as(VICTIM + " in HAProxy before the kill")
                .isEqualTo("UP");
        long retries = Fleet.haproxyStat("fortress_api", "BACKEND", "wretr");
        long redispatches = Fleet.haproxyStat("fortress_api", "BACKEND", "wredis");
        long lb5xx = Fleet.haproxyStat("fortress_api", "FRONTEND", "hrsp_5xx");
        long victimServed = Fleet.haproxyStat("fortress_api", VICTIM, "hrsp_2xx");

        FleetLoad load = FleetLoad.start(CLIENTS, FleetLoad.readsAndKeyedWrites(lb, run, user));
        List<Call> calls;
        long killStarted;
        long killEnded;
        long down;
        try {
            load.awaitMore(1_000, Duration.ofMinutes(2));
            assertThat(Fleet.haproxyStat("fortress_api", VICTIM, "hrsp_2xx"))
                    .as(VICTIM + " serves part of the load")
                    .isGreaterThan(victimServed);
            killStarted = System.nanoTime();
            Fleet.clusterOk(Duration.ofMinutes(2), "kill", VICTIM);
            killEnded = System.nanoTime();
            assertThat(Fleet.javaPid(VICTIM))
                    .as(VICTIM + " runs no JVM after the kill")
                    .isEmpty();
            down = awaitStatus(VICTIM, "DOWN", Duration.ofSeconds(30));
            load.awaitMore(1_000, Duration.ofMinutes(2)); // on api1 and api3 alone
            calls = load.stop();
        } finally {
            load.stop(); // again if the try block failed before; returns at once otherwise
            Fleet.clusterOk(Duration.ofMinutes(6), "start", VICTIM); // back in HAProxy when it returns
        }

        List<Call> failed = calls.stream().filter(c -> !c.ok()).toList();
        long inFlightAtKill = calls.stream()
                .filter(c -> c.started() < killEnded && c.ended() > killStarted)
                .count();
        List<Call> afterDown = calls.stream().filter(c -> c.started() > down).toList();
        List<Call> writes = calls.stream().filter(c -> c.key() != null).toList();
        List<Long> acknowledged = FleetLoad.acknowledgedWrites(writes);
        List<Long> rows = FleetLoad.transactionRows(user);
        Map<String, Long> byStatus = FleetLoad.byStatus(calls);
        Fleet.summary(
                "kill -9 of an API host under load",
                String.format(
                        "%d requests by %d clients through 127.0.0.1:8090, "
                                + "answers %s; %d in flight (anywhere) while `bin/cluster kill %s` ran, %d failed; HAProxy marked it "
                                + "DOWN %d ms after the kill and retried %d, redispatched %d; %d requests after that, %d failed; "
                                + "%d keyed writes acknowledged, %d rows",
                        calls.size(),
                        CLIENTS,
                        byStatus,
                        inFlightAtKill,
                        VICTIM,
                        failed.size(),
                        Duration.ofNanos(down - killEnded).toMillis(),
                        Fleet.haproxyStat("fortress_api", "BACKEND", "wretr") - retries,
                        Fleet.haproxyStat("fortress_api", "BACKEND", "wredis") - redispatches,
                        afterDown.size(),
                        afterDown.stream().filter(c -> !c.ok()).count(),
                        acknowledged.size(),
                        rows.size()));

        assertThat(failed)
                .as("failed requests: only those in flight while " + VICTIM + " was killed")
                .allMatch(c -> c.started() < killEnded && c.ended() > killStarted);
        assertThat(afterDown)
                .as("requests after HAProxy marked " + VICTIM + " down")
                .hasSizeGreaterThan(100)
                .allMatch(Call::ok);
        assertThat(Fleet.haproxyStat("fortress_api", "FRONTEND", "hrsp_5xx") - lb5xx)
                .as("5xx HAProxy answered")
                .isLessThanOrEqualTo(failed.size());
        assertThat(acknowledged)
                .as("acknowledged keyed writes, each a transaction of its own")
                .doesNotHaveDuplicates();
        assertThat(rows)
                .as("rows of the load's user: every acknowledged write, and at most one per failed one")
                .containsAll(acknowledged)
                .hasSizeLessThanOrEqualTo(acknowledged.size()
                        + (int) writes.stream().filter(c -> !c.ok()).count());
        assertThat(Fleet.haproxyField("fortress_api", VICTIM, "status"))
                .as(VICTIM + " back in HAProxy after its start")
                .startsWith("UP");
    }

    /** Polls HAProxy's status of {@code server} until it reads {@code status}: the moment (nanoTime) it did. */
    private static long awaitStatus(String server, String status, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Fleet.haproxyField("fortress_api", server, "status").startsWith(status)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "HAProxy shows " + server + " " + Fleet.haproxyField("fortress_api", server, "status")
                                + ", not " + status + ", " + timeout.toSeconds() + " s on");
            }
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
        }
        return System.nanoTime();
    }
}
