package dev.fortress.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.fleet.FleetLoad.Call;
import dev.fortress.testing.Await;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.Http;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 25: {@code bin/cluster kill} of the Redis master's host (its Redis and one of the three
 * Sentinels) under the load of {@link FleetRollIT} (reads of a user, the organisation's stats, keyed
 * writes) through the load balancer. The two Sentinels left promote the replica; every instance
 * follows it (config.yml's redis.sentinels). Meanwhile the stats come from PostgreSQL: no request
 * fails. Afterwards the stats are cache hits again, and a user written after the failover is counted
 * by the stats at once (the new master may lack the old one's last invalidations: each instance drops
 * every entry when its master changes). The host is started again: its Redis rejoins as a replica.
 * Prints a FAULT line with how long the hit ratio took to come back; no time is asserted.
 */
@ExtendWith(Fleet.class)
class FleetRedisKillIT {

    private static final int CLIENTS = 8;
    private static final int WINDOW = 100;

    @Test
    void killingTheRedisMasterFailsNoRequestAndTheCacheComesBackFreshOnTheNewMaster() throws Exception {
        Http lb = Fleet.lb();
        String run = "redis-kill-" + UUID.randomUUID().toString().substring(0, 8);
        long user = FleetLoad.newUser(lb, run);
        String victim = master();
        FleetLoad load = FleetLoad.start(CLIENTS, FleetLoad.readsAndKeyedWrites(lb, run, user));
        List<Call> calls;
        long killEnded;
        String promoted;
        double before;
        try {
            load.awaitMore(1_500, Duration.ofMinutes(2));
            before = hitRatio(load.snapshot(), 0);
            Fleet.clusterOk(Duration.ofMinutes(2), "kill", victim);
            killEnded = System.nanoTime();
            promoted = Await.await(
                    "a Redis master other than " + victim,
                    Duration.ofMinutes(2),
                    FleetRedisKillIT::master,
                    m -> m != null && !m.equals(victim));
            // The hit ratio back to 90% of what it was, over the last WINDOW stats answers.
            Await.await(
                    "the stats hit ratio back to 90% of " + before,
                    Duration.ofMinutes(3),
                    () -> hitRatio(load.snapshot(), killEnded),
                    r -> r >= 0.9 * before);
            load.awaitMore(1_000, Duration.ofMinutes(2));
            calls = load.stop();
        } finally {
            load.stop();
        }

        // A user of the organisation written now is in its stats at once, from the cache or not.
        FleetLoad.newUser(lb, run + "-after");
        long expected = usersOfOrg();
        long seen = Await.await(
                "GET /orgs/" + Fleet.ORG + "/stats counts the new user",
                Duration.ofSeconds(60),
                () -> {
                    HttpResponse<String> stats = lb.get("/orgs/" + Fleet.ORG + "/stats");
                    return stats.statusCode() == 200
                            ? ((Number) Http.json(stats).get("users")).longValue()
                            : -1L;
                },
                n -> n == expected);

        List<Call> stats =
                calls.stream().filter(c -> c.route().startsWith("GET /orgs")).toList();
        long back = recoveredAt(stats, killEnded, before);
        List<Call> failed = calls.stream().filter(c -> !c.ok()).toList();
        Map<String, Long> byStatus = FleetLoad.byStatus(calls);
        List<Long> acknowledged = FleetLoad.acknowledgedWrites(
                calls.stream().filter(c -> c.key() != null).toList());
        List<Long> rows = FleetLoad.transactionRows(user);
        FaultSummary summary =
                new FaultSummary("5c. Redis master's host killed (Sentinel failover) under reads and writes");
        calls.forEach(c -> summary.record(c.status()));
        summary.report(
                acknowledged.stream().filter(id -> !rows.contains(id)).count(),
                rows.size() - rows.stream().distinct().count(),
                Duration.ofNanos(Math.max(0, back - killEnded)),
                String.format(
                        "bin/cluster kill %s, %s promoted; stats "
                                + "hit ratio %.0f%% before, back to 90%% of it (over %d answers) %.1f s after the kill; answers %s",
                        victim, promoted, 100 * before, WINDOW, (back - killEnded) / 1e9, byStatus));

        assertThat(failed)
                .as("requests that failed while the Redis master was killed and replaced")
                .isEmpty();
        assertThat(seen).isEqualTo(expected);
        assertThat(rows)
                .as("every acknowledged keyed write a row, once")
                .containsExactlyInAnyOrderElementsOf(acknowledged);

        Fleet.clusterOk(Duration.ofMinutes(2), "start", victim);
        Await.await(
                victim + " back as a Redis replica",
                Duration.ofMinutes(1),
                () -> Fleet.clusterOk(Duration.ofSeconds(60), "status")
                        .lines()
                        .filter(l -> l.startsWith(victim + " ") && l.contains(":6379"))
                        .findFirst()
                        .orElse(""),
                line -> line.contains("redis-replica") && line.endsWith("ready"));
    }

    /** The host whose Redis is master now, per `bin/cluster status`; null if none is. */
    private static String master() {
        return Fleet.clusterOk(Duration.ofSeconds(60), "status")
                .lines()
                .filter(l -> l.contains(":6379") && l.contains("redis-master") && l.endsWith("ready"))
                .map(l -> l.split("\\s+")[0])
                .findFirst()
                .orElse(null);
    }

    private static long usersOfOrg() {
        return Fleet.db()
                .withHandle(h -> h.select("select count(*) from users where org_id = ?", Fleet.ORG)
                        .mapTo(Long.class)
                        .one());
    }

    /** The share of hits among the last WINDOW stats answers sent after {@code since} (0 with fewer). */
    private static double hitRatio(List<Call> calls, long since) {
        List<Call> stats = calls.stream()
                .filter(c -> c.route().startsWith("GET /orgs") && c.started() > since && c.ok())
                .toList();
        if (stats.size() < WINDOW) {
            return 0;
        }
        return stats.subList(stats.size() - WINDOW, stats.size()).stream()
                        .filter(c -> "hit".equals(c.cache()))
                        .count()
                / (double) WINDOW;
    }

    /** When (nanoTime) the hit ratio over WINDOW stats answers after the kill first reached 90% of before. */
    private static long recoveredAt(List<Call> stats, long kill, double before) {
        List<Call> after =
                stats.stream().filter(c -> c.started() > kill && c.ok()).toList();
        int hits = 0;
        for (int i = 0; i < after.size(); i++) {
            hits += "hit".equals(after.get(i).cache()) ? 1 : 0;
            if (i >= WINDOW) {
                hits -= "hit".equals(after.get(i - WINDOW).cache()) ? 1 : 0;
            }
            if (i >= WINDOW - 1 && hits >= 0.9 * before * WINDOW) {
                return after.get(i).ended();
            }
        }
        return kill;
    }
}
