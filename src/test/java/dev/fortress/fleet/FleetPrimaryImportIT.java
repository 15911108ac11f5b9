package dev.fortress.fleet;

import static dev.fortress.testing.ImportStatus.errorLines;
import static dev.fortress.testing.ImportStatus.imported;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.Http;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 25: JobRunr across a PostgreSQL failover. An import is uploaded through the load balancer; once
 * a batch is committed, the primary's host is killed ({@code bin/cluster kill}). JobRunr's storage and
 * the import's batches are on the primary that died: the workers' background servers stop on the
 * storage failure and Fortress starts them again (jobs/JobsMonitor), the job is taken up again on the
 * promoted standby and resumes after the last committed batch. The import succeeds with every valid row
 * in {@code users} exactly once. While there is no primary, GET /imports/{id} (read on the writer)
 * waits for one and answers 503 past the fleet's primaryWait, which the poll counts. The old primary is
 * started again at the end.
 */
@ExtendWith(Fleet.class)
class FleetPrimaryImportIT {

    private static final int ROWS = 300_000;

    @Test
    void anImportWhosePrimaryIsKilledFinishesOnThePromotedStandbyWithEveryRowOnce() {
        Http lb = Fleet.lb();
        String domain = "primary-import-" + UUID.randomUUID().toString().substring(0, 8) + ".fleet.test";
        FleetWorkerKillIT.Csv csv = FleetWorkerKillIT.Csv.generate(ROWS, domain);
        HttpResponse<String> accepted = lb.send(HttpRequest.newBuilder(lb.uri("/imports"))
                .header("Content-Type", "text/csv")
                .timeout(Duration.ofMinutes(3))
                .POST(HttpRequest.BodyPublishers.ofByteArray(csv.bytes())));
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String id = (String) Http.json(accepted).get("importId");
        AtomicLong unavailable = new AtomicLong();

        Map<String, Object> midway =
                poll(lb, id, Duration.ofMinutes(5), unavailable, s -> imported(s) > 0 || FleetWorkerKillIT.finished(s));
        assertThat(midway)
                .as("the import must still be running when the primary is killed")
                .containsEntry("status", "processing");
        String victim = Fleet.primary();
        Fleet.clusterOk(Duration.ofMinutes(2), "kill", victim);
        long killedAt = System.nanoTime();
        Map<String, Object> done;
        try {
            done = poll(lb, id, Duration.ofMinutes(10), unavailable, FleetWorkerKillIT::finished);
        } finally {
            Fleet.clusterOk(Duration.ofMinutes(6), "start", victim);
        }
        Duration recovery = Duration.ofNanos(System.nanoTime() - killedAt);
        long users = Fleet.db()
                .withHandle(h -> h.select("select count(*) from users where email like ?", "%@" + domain)
                        .mapTo(Long.class)
                        .one());
        long distinct = Fleet.db()
                .withHandle(h -> h.select(
                                "select count(distinct lower(email)) from users where email like ?", "%@" + domain)
                        .mapTo(Long.class)
                        .one());
        FaultSummary summary = new FaultSummary("5d. primary's host killed during an import (JobRunr on PostgreSQL)");
        summary.record(accepted.statusCode());
        summary.report(
                csv.valid() - Math.min(users, csv.valid()),
                users - distinct,
                recovery,
                String.format(
                        "%,d-row import through 127.0.0.1:8090, %s killed with %,d rows committed, %s promoted; it ended %s with "
                                + "%,d rows imported, %,d in users, %,d distinct; GET /imports/{id} answered 503 %d times meanwhile",
                        ROWS,
                        victim,
                        imported(midway),
                        Fleet.primary(),
                        done.get("status"),
                        imported(done),
                        users,
                        distinct,
                        unavailable.get()));

        assertThat(done)
                .as("the import, finished after the failover")
                .containsEntry("status", "succeeded")
                .containsEntry("rowsImported", (int) csv.valid());
        assertThat(users).as("every valid row in users, once").isEqualTo(csv.valid());
        assertThat(distinct).as("no email twice").isEqualTo(users);
        assertThat(errorLines(done))
                .as("exactly the planted bad lines are reported")
                .isEqualTo(csv.badLines());
    }

    /**
     * Polls the import until {@code until}; a 503 (no primary to read it on) is counted and polled again.
     * Each poll waits {@link Fleet#CLIENT_PATIENCE}: the status is read on the writer, and a read that
     * finds no primary waits for one up to the fleet's primaryWait.
     */
    private static Map<String, Object> poll(
            Http lb, String id, Duration timeout, AtomicLong unavailable, Predicate<Map<String, Object>> until) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            HttpResponse<String> response =
                    lb.send(HttpRequest.newBuilder(lb.uri("/imports/" + id)).GET(), Fleet.CLIENT_PATIENCE);
            if (response.statusCode() == 503) {
                unavailable.incrementAndGet();
            } else {
                assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                Map<String, Object> status = Http.json(response);
                if (until.test(status)) {
                    return status;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "import " + id + " not done " + timeout.toSeconds() + " s on: " + response.body());
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }
}
