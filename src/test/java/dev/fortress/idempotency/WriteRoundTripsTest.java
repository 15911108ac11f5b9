package dev.fortress.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.db.ConsistencyTokenFeature;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Round trips to PostgreSQL per write (issue 24: at most 2 for a keyed write), read from
 * PgBouncer's own statistics. The writer goes through the PgBouncer of {@code bin/services}
 * (transaction mode, declared as such, as in {@code deploy/pooled.env} and the fleet) to this class's
 * own database, so {@code SHOW STATS}' row of that database counts this application's writer only.
 * PgBouncer counts a "query" at each ReadyForQuery of the server, that is once per round trip (one
 * Sync from pgjdbc) whatever the number of statements in it: a BEGIN rides with the first
 * statement, a COMMIT is a round trip of its own.
 *
 * <p>Each figure is the count over {@link #WRITES} sequential writes, less the count over as long
 * again without writes just after: the application's own statements on the writer in the meantime
 * (the replica monitor's sample of the writer's position, the writer's health check) are not the
 * writes'. The instance runs as the fleet's API hosts do ({@code jobs.mode: api}), without
 * JobRunr's polls. Every successful write also reads its consistency token from the writer
 * ({@code ConsistencyTokenFeature}), after its commit: one round trip of each write's two.
 *
 * <p>The writer reaches PgBouncer through a {@link TcpProxy} that counts the round trips on the wire
 * too (a reply after a request, logins included, which PgBouncer's count leaves out): the same 2, so
 * PgBouncer's figure, which bench/cluster reports for the fleet, misses none.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class WriteRoundTripsTest {

    private static final String PGBOUNCER_HOST = "127.0.0.1";
    private static final int PGBOUNCER_PORT = 6432;
    private static final int WRITES = 100;
    private static final TestDatabase DB = TestDatabase.create();
    private static final TcpProxy WIRE = new TcpProxy(PGBOUNCER_HOST, PGBOUNCER_PORT);
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            WIRE.jdbcUrl(DB.name()),
            DB.url(),
            ConfigOverride.config("writerDatabase.transactionPooler", "true"),
            ConfigOverride.config("jobs.mode", "api"));
    private static final long ORG = 1;
    private static long userId;
    private static Http api;

    @BeforeAll
    static void userAndClient() {
        userId = DB.aUser("round-trips-owner@x.io");
        // One client, so one connection: a client per request would soon meet the edge's bound per address.
        api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, ORG));
    }

    @Test
    void aKeyedWriteMakesTwoRoundTripsAsAnUnkeyedOneDoes() {
        String run = UUID.randomUUID().toString();
        double unkeyedUser =
                perWrite("POST /users without a key", 201, i -> post("/users", null, user("u" + i + "-" + run)));
        double keyedUser = perWrite(
                "POST /users with a key", 201, i -> post("/users", "k" + i + "-" + run, user("k" + i + "-" + run)));
        double replayedUser = perWrite(
                "POST /users repeated (a replay)",
                201,
                i -> post("/users", "k" + i + "-" + run, user("k" + i + "-" + run)));
        double unkeyedTransaction =
                perWrite("POST /transactions without a key", 201, i -> post("/transactions", null, transaction(i)));
        double keyedTransaction = perWrite(
                "POST /transactions with a key", 201, i -> post("/transactions", "t" + i + "-" + run, transaction(i)));

        // Before issue 24's change a keyed write made 5 (BEGIN + claim, insert, store, COMMIT, token)
        // and a replay 3 (BEGIN + claim, COMMIT, token).
        assertThat(Math.round(unkeyedUser))
                .as("POST /users without a key: insert, token")
                .isEqualTo(2);
        assertThat(Math.round(keyedUser))
                .as("POST /users with a key: claim + insert + store, token")
                .isEqualTo(2);
        assertThat(Math.round(replayedUser))
                .as("a replay: claim (reads the answer), token")
                .isEqualTo(2);
        assertThat(Math.round(unkeyedTransaction))
                .as("POST /transactions without a key")
                .isEqualTo(2);
        assertThat(Math.round(keyedTransaction))
                .as("POST /transactions with a key")
                .isEqualTo(2);
    }

    /**
     * Round trips per write of {@link #WRITES} writes, each answered {@code status} with a
     * consistency token, less the round trips of as long again without writes. A few writes of the
     * kind go first, so that the pool's connections are open and each statement has run once.
     */
    private static double perWrite(String what, int status, IntFunction<HttpResponse<String>> write) {
        for (int i = 0; i < 10; i++) {
            write.apply(WRITES + i);
        }
        long before = roundTrips();
        long wireBefore = WIRE.exchanges();
        long started = System.nanoTime();
        for (int i = 0; i < WRITES; i++) {
            HttpResponse<String> answer = write.apply(i);
            assertThat(answer.statusCode()).as(what + ": " + answer.body()).isEqualTo(status);
            assertThat(answer.headers().firstValue(ConsistencyTokenFeature.HEADER))
                    .as(what)
                    .isPresent();
        }
        long wire = WIRE.exchanges() - wireBefore;
        long writes = roundTrips() - before;
        long elapsed = System.nanoTime() - started;
        long idleBefore = roundTrips();
        long wireIdleBefore = WIRE.exchanges();
        sleepNanos(elapsed);
        long wireIdle = WIRE.exchanges() - wireIdleBefore;
        long idle = roundTrips() - idleBefore;
        double perWrite = (double) (writes - idle) / WRITES;
        double wirePerWrite = (double) (wire - wireIdle) / WRITES;
        System.out.printf(
                "round trips: %s: %d over %d writes in %d ms, %d in as long without writes: %.2f per write;"
                        + " on the wire %d and %d: %.2f%n",
                what,
                writes,
                WRITES,
                TimeUnit.NANOSECONDS.toMillis(elapsed),
                idle,
                perWrite,
                wire,
                wireIdle,
                wirePerWrite);
        assertThat(Math.round(wirePerWrite))
                .as(what + ": round trips on the wire per write, against PgBouncer's %.2f", perWrite)
                .isEqualTo(Math.round(perWrite));
        return perWrite;
    }

    private static HttpResponse<String> post(String path, String key, String json) {
        HttpRequest.Builder request = HttpRequest.newBuilder(api.uri(path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (key != null) {
            request.header(IdempotentWrites.KEY_HEADER, key);
        }
        return api.send(request);
    }

    private static String user(String name) {
        return "{\"email\":\"" + name + "@x.io\",\"role\":\"member\",\"orgId\":" + ORG + ",\"age\":30}";
    }

    private static String transaction(int i) {
        Instant at = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(1, ChronoUnit.HOURS);
        return "{\"userId\":" + userId + ",\"amount\":\"" + (i + 1) + ".25\",\"createdAt\":\"" + at + "\"}";
    }

    /**
     * PgBouncer's count of round trips to this class's database so far, from its admin console
     * through psql: pgjdbc cannot talk to the console (it sends {@code SET extra_float_digits} to a
     * server that reports a version below 12, and the console refuses SET to a stats user).
     */
    private static long roundTrips() {
        ProcessBuilder psql = new ProcessBuilder(
                        "psql",
                        "-X",
                        "-A",
                        "-t",
                        "-F",
                        ",",
                        "-h",
                        PGBOUNCER_HOST,
                        "-p",
                        String.valueOf(PGBOUNCER_PORT),
                        "-U",
                        DB.user(),
                        "-d",
                        "pgbouncer",
                        "-c",
                        "show stats")
                .redirectErrorStream(true);
        psql.environment().put("PGPASSWORD", DB.password());
        try {
            Process process = psql.start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IllegalStateException(
                        "psql -d pgbouncer -c 'show stats' failed (bin/services up?): " + output);
            }
            // database,total_xact_count,total_query_count,...
            return output.lines()
                    .map(line -> line.split(","))
                    .filter(row -> row[0].equals(DB.name()))
                    .mapToLong(row -> Long.parseLong(row[2]))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("no row for " + DB.name() + " in " + output));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void sleepNanos(long nanos) {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
