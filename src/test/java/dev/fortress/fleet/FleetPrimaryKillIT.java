package dev.fortress.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.Http;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 25: {@code bin/cluster kill} of the primary's host (PostgreSQL, its keeper and PgBouncer, as a
 * power cut) while clients write through the load balancer, each write with an Idempotency-Key and
 * retried with that key until it is acknowledged, as a client of docs/api.md would. pg_auto_failover
 * promotes a standby; the writers' pools find it (targetServerType=primary). With synchronous
 * replication (the cluster's default) no acknowledged write is lost, and with the keys no write
 * lands twice; while there is no primary, writes answer 503 with Retry-After and nothing else. The
 * killed host is started again: it rejoins as a standby, without an operator, and serves reads.
 * Prints a FAULT line with how long writes were unavailable; no time is asserted.
 */
@ExtendWith(Fleet.class)
class FleetPrimaryKillIT {

    private static final int CLIENTS = 6;
    private static final int AFTER = 300;

    @Test
    void killingThePrimaryHostLosesNoAcknowledgedWriteAndTheOldPrimaryRejoinsAsAStandbyServingReads() throws Exception {
        Http lb = Fleet.lb();
        String run = "primary-kill-" + UUID.randomUUID().toString().substring(0, 8);
        long user = FleetLoad.newUser(lb, run);
        String victim = Fleet.primary();
        KeyedWriters writers = new KeyedWriters(CLIENTS, lb, run, user);
        Instant killedAt;
        long killStarted;
        long killEnded;
        String promoted;
        List<KeyedWriters.Attempt> attempts;
        try {
            writers.awaitAcknowledged(AFTER, Duration.ofMinutes(2));
            killStarted = System.nanoTime();
            Fleet.clusterOk(Duration.ofMinutes(2), "kill", victim);
            killEnded = System.nanoTime();
            killedAt = Instant.now(); // the processes are gone once bin/cluster kill returns
            long before = writers.acknowledged();
            writers.awaitAcknowledged(before + AFTER, Duration.ofMinutes(3)); // on the new primary
            promoted = Fleet.primary();
            attempts = writers.stop();
        } finally {
            writers.stop();
        }

        KeyedWriters.Outcome outcome = KeyedWriters.Outcome.of(attempts, user, killStarted);
        long lastFailure = outcome.failed().stream()
                .mapToLong(KeyedWriters.Attempt::ended)
                .max()
                .orElse(killEnded);
        FaultSummary summary = new FaultSummary(
                "5a. primary's host killed under keyed writes (pg_auto_failover, " + "synchronous replication)");
        attempts.forEach(a -> summary.record(a.status()));
        summary.report(
                outcome.lost(),
                outcome.extra(),
                outcome.unavailable(),
                String.format(
                        "bin/cluster kill %s, %s "
                                + "promoted; writes unavailable %.1f s (longest time without an acknowledgement after the kill); "
                                + "%d attempts failed (%s), the last %.1f s after the kill; %d keys acknowledged, %d rows; %s",
                        victim,
                        promoted,
                        outcome.unavailable().toMillis() / 1000.0,
                        outcome.failed().size(),
                        outcome.failedByStatus(),
                        (lastFailure - killEnded) / 1e9,
                        outcome.idsByKey().size(),
                        outcome.rows().size(),
                        Fleet.failoverTimeline(killedAt, victim, promoted)));

        assertThat(promoted).as("a standby was promoted").isNotEqualTo(victim);
        assertThat(outcome.idsByKey().values())
                .as("each key acknowledged with one transaction (replays give the same)")
                .allMatch(ids -> ids.size() == 1);
        assertThat(outcome.lost())
                .as("acknowledged writes lost (synchronous replication)")
                .isZero();
        assertThat(outcome.rows())
                .as("rows of the load's user: one per acknowledged key, none twice")
                .doesNotHaveDuplicates()
                .hasSize(outcome.idsByKey().size());
        assertThat(outcome.failed())
                .as("failed attempts: 503 with Retry-After while there was no primary, 409 for a "
                        + "key whose earlier attempt the server still runs (docs/api.md), or no answer within the client's "
                        + "timeout")
                .allMatch(KeyedWriters.Outcome::retryable);
        assertThat(outcome.failed()).as("failures only after the kill began").allMatch(a -> a.ended() > killStarted);
        List<KeyedWriters.Attempt> tail = attempts.subList(Math.max(0, attempts.size() - AFTER), attempts.size());
        assertThat(tail)
                .as("the last " + AFTER + " attempts, on the new primary")
                .allMatch(KeyedWriters.Attempt::ok);

        // The old primary comes back: it rejoins as a standby by itself and the API reads from it again.
        Fleet.clusterOk(Duration.ofMinutes(6), "start", victim);
        String replica = Fleet.awaitStandbyServingReads(victim);
        assertThat(Fleet.metric("api1", "fortress_db_replica_primary{replica=\"" + replica + "\",}"))
                .as(victim + " is no primary for api1")
                .isZero();
    }
}
