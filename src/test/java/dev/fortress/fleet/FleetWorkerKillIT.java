package dev.fortress.fleet;

import static dev.fortress.testing.ImportStatus.errorLines;
import static dev.fortress.testing.ImportStatus.imported;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Http;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 24, acceptance 2: {@code kill -9} of the worker host running a 1,000,000-row import. The
 * import is uploaded through the load balancer; the worker that runs it is the one whose
 * {@code fortress_imports_started_total} rose; once a batch is committed, {@code bin/cluster kill}
 * takes every process of that host down at once. JobRunr on the other worker finds the job
 * orphaned (no heartbeat), runs it again, and the job resumes after the last committed batch:
 * the import succeeds with every valid row in {@code users} exactly once and the planted bad lines
 * reported. The killed host is started again at the end.
 */
@ExtendWith(Fleet.class)
class FleetWorkerKillIT {

    private static final int ROWS = 1_000_000;
    /** Spread over the whole file, so some are read before the kill and some after it. */
    private static final int BAD_ROWS = 40;

    @Test
    void anImportWhoseWorkerIsKilledFinishesOnTheOtherWorkerWithEveryRowOnce() {
        Http lb = Fleet.lb();
        String domain = "kill-" + UUID.randomUUID().toString().substring(0, 8) + ".fleet.test";
        Csv csv = Csv.generate(ROWS, domain);
        Map<String, Double> startedBefore = new TreeMap<>();
        for (String worker : Fleet.WORKERS) {
            startedBefore.put(worker, Fleet.metric(worker, "fortress_imports_started_total"));
        }

        HttpResponse<String> accepted = lb.send(HttpRequest.newBuilder(lb.uri("/imports"))
                .header("Content-Type", "text/csv")
                .timeout(Duration.ofMinutes(3))
                .POST(HttpRequest.BodyPublishers.ofByteArray(csv.bytes())));
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String id = (String) Http.json(accepted).get("importId");

        // A batch committed: the kill then leaves some rows in and some to do.
        Map<String, Object> midway = poll(lb, id, Duration.ofMinutes(5), s -> imported(s) > 0 || finished(s));
        assertThat(midway)
                .as("the import must still be running when its worker is killed")
                .containsEntry("status", "processing");
        List<String> running = new ArrayList<>();
        for (String worker : Fleet.WORKERS) {
            if (Fleet.metric(worker, "fortress_imports_started_total") > startedBefore.get(worker)) {
                running.add(worker);
            }
        }
        assertThat(running)
                .as("the workers that started an import since the upload")
                .hasSize(1);
        String victim = running.get(0);
        String survivor = Fleet.WORKERS.stream()
                .filter(w -> !w.equals(victim))
                .findFirst()
                .orElseThrow();
        // A resumed run counts no new start (only a queued import's does): what it finishes and loads does.
        double survivorSucceeded = Fleet.metric(survivor, "fortress_imports_succeeded_total");
        double survivorRows = Fleet.metric(survivor, "fortress_imports_rows_imported_total");

        Fleet.clusterOk(Duration.ofMinutes(2), "kill", victim);
        long killedAt = System.nanoTime();
        try {
            assertThat(Fleet.javaPid(victim))
                    .as(victim + " runs no JVM after the kill")
                    .isEmpty();
            LockSupport.parkNanos(Duration.ofMillis(300).toNanos()); // a COMMIT already sent still lands
            Jdbi db = Fleet.db();
            long committedAtKill =
                    db.withHandle(h -> h.select("select rows_imported from imports where id = cast(? as uuid)", id)
                            .mapTo(Long.class)
                            .one());
            assertThat(committedAtKill)
                    .as("some, not all, rows committed when " + victim + " was killed")
                    .isPositive()
                    .isLessThan(csv.valid());
            assertThat(Http.json(lb.get("/imports/" + id))).containsEntry("status", "processing");

            // JobRunr: orphaned after 4 poll intervals without a heartbeat (20 s), then retried with a backoff.
            Map<String, Object> done = poll(lb, id, Duration.ofMinutes(10), FleetWorkerKillIT::finished);
            Duration recovery = Duration.ofNanos(System.nanoTime() - killedAt);
            long users = count(db, "select count(*) from users where email like ?", "%@" + domain);
            long distinct =
                    count(db, "select count(distinct lower(email)) from users where email like ?", "%@" + domain);
            double survivorFinished = Fleet.metric(survivor, "fortress_imports_succeeded_total") - survivorSucceeded;
            double survivorLoaded = Fleet.metric(survivor, "fortress_imports_rows_imported_total") - survivorRows;
            Fleet.summary(
                    "import's worker killed",
                    String.format(
                            "%,d-row import (%d bad) uploaded through 127.0.0.1:8090, "
                                    + "run by %s, killed with %,d rows committed; %s loaded %,.0f rows more and it ended %s: %,d rows "
                                    + "imported, %,d in users, %,d distinct; kill to end %d s",
                            ROWS,
                            BAD_ROWS,
                            victim,
                            committedAtKill,
                            survivor,
                            survivorLoaded,
                            done.get("status"),
                            imported(done),
                            users,
                            distinct,
                            recovery.toSeconds()));

            assertThat(done)
                    .as("the import, finished by " + survivor)
                    .containsEntry("status", "succeeded")
                    .containsEntry("rowsTotal", ROWS)
                    .containsEntry("rowsImported", (int) csv.valid())
                    .containsEntry("rowsRejected", BAD_ROWS);
            assertThat(survivorFinished)
                    .as(survivor + " finished the orphaned import (fortress_imports_succeeded_total)")
                    .isEqualTo(1);
            assertThat(survivorLoaded)
                    .as(survivor + " loaded the rows left after the kill, not the whole file again "
                            + "(fortress_imports_rows_imported_total)")
                    .isPositive()
                    .isLessThanOrEqualTo(csv.valid() - committedAtKill);
            assertThat(users).as("every valid row in users, once").isEqualTo(csv.valid());
            assertThat(distinct).as("no email twice").isEqualTo(users);
            assertThat(errorLines(done))
                    .as("exactly the planted bad lines are reported")
                    .isEqualTo(csv.badLines());
        } finally {
            Fleet.clusterOk(Duration.ofMinutes(6), "start", victim);
        }
        assertThat(Fleet.javaPid(victim)).as(victim + " runs again").isPresent();
    }

    private static Map<String, Object> poll(
            Http lb, String id, Duration timeout, Predicate<Map<String, Object>> until) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            HttpResponse<String> response = lb.get("/imports/" + id);
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            Map<String, Object> status = Http.json(response);
            if (until.test(status)) {
                return status;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("import " + id + " still " + status + " after " + timeout.toSeconds() + " s");
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }

    static boolean finished(Map<String, Object> status) {
        return "succeeded".equals(status.get("status")) || "failed".equals(status.get("status"));
    }

    private static long count(Jdbi db, String sql, String argument) {
        return db.withHandle(h -> h.select(sql, argument).mapTo(Long.class).one());
    }

    /** {@code rows} users of organisation 7 under {@code domain}; {@link #BAD_ROWS} of them with an age out of range. */
    record Csv(byte[] bytes, int rows, List<Long> badLines) {

        long valid() {
            return rows - badLines.size();
        }

        static Csv generate(int rows, String domain) {
            TreeSet<Long> bad = new TreeSet<>();
            long step = rows / BAD_ROWS;
            for (int i = 0; i < BAD_ROWS; i++) {
                bad.add(2 + step / 2 + i * step); // line 1 is the header
            }
            StringBuilder csv = new StringBuilder(rows * 40).append("email,role,org_id,age\n");
            for (long line = 2; line <= rows + 1; line++) {
                csv.append('u')
                        .append(line)
                        .append('@')
                        .append(domain)
                        .append(",member,")
                        .append(Fleet.ORG)
                        .append(',')
                        .append(bad.contains(line) ? 151 : 18 + line % 60)
                        .append('\n');
            }
            return new Csv(csv.toString().getBytes(StandardCharsets.UTF_8), rows, new ArrayList<>(bad));
        }
    }
}
