package dev.fortress.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Await;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.Http;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
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

    /** One attempt of one keyed write, as its client saw it (status -1: no answer). */
    record Attempt(String key, long started, long ended, int status, String retryAfter, Long id) {

        boolean ok() {
            return status >= 200 && status < 300;
        }
    }

    @Test
    void killingThePrimaryHostLosesNoAcknowledgedWriteAndTheOldPrimaryRejoinsAsAStandbyServingReads() throws Exception {
        Http lb = Fleet.lb();
        String run = "primary-kill-" + UUID.randomUUID().toString().substring(0, 8);
        long user = FleetLoad.newUser(lb, run);
        String victim = Fleet.primary();
        Writers writers = new Writers(lb, run, user);
        long killStarted;
        long killEnded;
        String promoted;
        List<Attempt> attempts;
        try {
            writers.awaitAcknowledged(AFTER, Duration.ofMinutes(2));
            killStarted = System.nanoTime();
            Fleet.clusterOk(Duration.ofMinutes(2), "kill", victim);
            killEnded = System.nanoTime();
            long before = writers.acknowledged();
            writers.awaitAcknowledged(before + AFTER, Duration.ofMinutes(3)); // on the new primary
            promoted = Fleet.primary();
            attempts = writers.stop();
        } finally {
            writers.stop();
        }

        // The keys each client finished (acknowledged); the answers' transaction ids; the rows.
        Map<String, Set<Long>> idsByKey = attempts.stream().filter(Attempt::ok).collect(Collectors.groupingBy(
                Attempt::key, Collectors.mapping(Attempt::id, Collectors.toSet())));
        Set<Long> acknowledged = idsByKey.values().stream().flatMap(Set::stream).collect(Collectors.toSet());
        List<Long> rows = FleetLoad.transactionRows(user);
        Set<Long> distinctRows = new HashSet<>(rows);
        long lost = acknowledged.stream().filter(id -> !distinctRows.contains(id)).count();
        long extra = rows.size() - acknowledged.stream().filter(distinctRows::contains).count();
        List<Attempt> failed = attempts.stream().filter(a -> !a.ok()).toList();
        // Writes unavailable: the longest time between two acknowledgements (answer to answer) around the kill.
        List<Attempt> oks = attempts.stream().filter(Attempt::ok).sorted(Comparator.comparingLong(Attempt::ended)).toList();
        long gap = 0;
        for (int i = 1; i < oks.size(); i++) {
            if (oks.get(i).ended() > killStarted) {
                gap = Math.max(gap, oks.get(i).ended() - Math.max(oks.get(i - 1).ended(), killStarted));
            }
        }
        long lastFailure = failed.stream().mapToLong(Attempt::ended).max().orElse(killEnded);
        FaultSummary summary = new FaultSummary("5a. primary's host killed under keyed writes (pg_auto_failover, "
                + "synchronous replication)");
        attempts.forEach(a -> summary.record(a.status()));
        summary.report(lost, extra, Duration.ofNanos(gap), String.format("bin/cluster kill %s, %s promoted; writes "
                        + "unavailable %.1f s (longest time without an acknowledgement after the kill); %d attempts failed "
                        + "(%s), the last %.1f s after the kill; %d keys acknowledged, %d rows",
                victim, promoted, gap / 1e9, failed.size(), failed.stream().collect(Collectors.groupingBy(
                        a -> String.valueOf(a.status()), Collectors.counting())),
                (lastFailure - killEnded) / 1e9, idsByKey.size(), rows.size()));

        assertThat(promoted).as("a standby was promoted").isNotEqualTo(victim);
        assertThat(idsByKey.values()).as("each key acknowledged with one transaction (replays give the same)")
                .allMatch(ids -> ids.size() == 1);
        assertThat(lost).as("acknowledged writes lost (synchronous replication)").isZero();
        assertThat(rows).as("rows of the load's user: one per acknowledged key, none twice").doesNotHaveDuplicates()
                .hasSize(idsByKey.size());
        assertThat(failed).as("failed attempts: 503 with Retry-After while there was no primary, 409 for a key whose "
                        + "earlier attempt the server still runs (docs/api.md), or no answer within the client's timeout")
                .allMatch(a -> (a.status() == 503 && a.retryAfter() != null) || a.status() == 409 || a.status() < 0);
        assertThat(failed).as("failures only after the kill began").allMatch(a -> a.ended() > killStarted);
        List<Attempt> tail = attempts.subList(Math.max(0, attempts.size() - AFTER), attempts.size());
        assertThat(tail).as("the last " + AFTER + " attempts, on the new primary").allMatch(Attempt::ok);

        // The old primary comes back: it rejoins as a standby by itself and the API reads from it again.
        Fleet.clusterOk(Duration.ofMinutes(6), "start", victim);
        String replica = Fleet.address(victim) + ":6432";
        Await.await(victim + " a standby again, streaming", Duration.ofMinutes(3),
                () -> Fleet.clusterOk(Duration.ofSeconds(60), "status").lines()
                        .filter(l -> l.startsWith(victim + " ") && l.contains(":5432")).findFirst().orElse(""),
                line -> line.contains("pg-standby") && line.endsWith("ready"));
        double readsBefore = Fleet.metric("api1", "fortress_db_replica_reads_total{replica=\"" + replica + "\",}");
        Await.await("api1 reads from " + victim + " again", Duration.ofMinutes(2), () -> {
            lb.get("/users/" + Fleet.SEED_USER);
            Fleet.api("api1").get("/users/" + Fleet.SEED_USER);
            return Fleet.metric("api1", "fortress_db_replica_reads_total{replica=\"" + replica + "\",}");
        }, reads -> reads > readsBefore);
        assertThat(Fleet.metric("api1", "fortress_db_replica_primary{replica=\"" + replica + "\",}"))
                .as(victim + " is no primary for api1").isZero();
    }

    /**
     * {@link #CLIENTS} clients, each writing transactions of {@code user} one after another, each with an
     * Idempotency-Key sent again (after Retry-After, at most 1 s) until it is acknowledged.
     */
    private static final class Writers {

        private final ConcurrentLinkedQueue<Attempt> attempts = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicLong acknowledged = new AtomicLong();
        private final AtomicLong sequence = new AtomicLong();
        private final ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);

        Writers(Http lb, String run, long user) {
            for (int i = 0; i < CLIENTS; i++) {
                clients.submit(() -> {
                    while (running.get()) {
                        long n = sequence.incrementAndGet();
                        String key = run + "-" + n;
                        String body = "{\"userId\":" + user + ",\"amount\":\"" + (n % 1000) + ".50\",\"createdAt\":\""
                                + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "\"}";
                        // A started key is finished even when the test stops the clients: no write is left in doubt.
                        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
                        while (System.nanoTime() < deadline) {
                            Attempt attempt = send(lb, key, body);
                            attempts.add(attempt);
                            if (attempt.ok()) {
                                acknowledged.incrementAndGet();
                                break;
                            }
                            long pause = attempt.retryAfter() == null ? 200 : Math.min(1000, 1000L * Long.parseLong(attempt.retryAfter()));
                            LockSupport.parkNanos(Duration.ofMillis(Math.max(100, pause)).toNanos());
                        }
                    }
                });
            }
        }

        private static Attempt send(Http lb, String key, String body) {
            long started = System.nanoTime();
            try {
                HttpResponse<String> response = lb.send(HttpRequest.newBuilder(lb.uri("/transactions"))
                        .header("Content-Type", "application/json").header("Idempotency-Key", key)
                        .POST(HttpRequest.BodyPublishers.ofString(body)));
                Long id = response.statusCode() == 201 ? ((Number) Fleet.json(response.body()).get("id")).longValue() : null;
                return new Attempt(key, started, System.nanoTime(), response.statusCode(),
                        response.headers().firstValue("Retry-After").orElse(null), id);
            } catch (RuntimeException e) {
                return new Attempt(key, started, System.nanoTime(), -1, null, null);
            }
        }

        long acknowledged() {
            return acknowledged.get();
        }

        void awaitAcknowledged(long count, Duration timeout) {
            Await.await(count + " writes acknowledged", timeout, acknowledged::get, n -> n >= count);
        }

        List<Attempt> stop() throws InterruptedException {
            running.set(false);
            clients.shutdown();
            if (!clients.awaitTermination(3, TimeUnit.MINUTES)) {
                throw new AssertionError("writers did not stop: a key was never acknowledged");
            }
            List<Attempt> all = new ArrayList<>(attempts);
            all.sort(Comparator.comparingLong(Attempt::started));
            return all;
        }
    }
}
