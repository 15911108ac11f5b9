package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedPgBouncer;
import dev.fortress.testing.OwnedRedis;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 5 of the fault suite: clients that retry every failed or unanswered write with its
 * Idempotency-Key, through a 10 s writer outage and then a PgBouncer restart. A write in flight
 * when the link drops may commit and still answer 503 ("outcome unknown"); its retry must then get
 * the stored 201, not a 409 for its own email nor a second transaction. The writer goes app ->
 * proxy (cut for the outage) -> PgBouncer (restarted) -> PostgreSQL.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class IdempotentRetryFaultTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedPgBouncer BOUNCER = new OwnedPgBouncer(DB);
    private static final TcpProxy WRITER = new TcpProxy("127.0.0.1", BOUNCER.port());
    private static final OwnedRedis REDIS = new OwnedRedis();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            WRITER.jdbcUrl(DB.name()),
            DB.url(),
            REDIS.override(),
            ConfigOverride.config("writerDatabase.transactionPooler", "true"));

    private static final int CLIENTS = 8;
    /** A client gives a write up (and the test fails) only after this long without a 201. */
    private static final Duration GIVE_UP = Duration.ofSeconds(60);

    private static final Duration PAUSE = Duration.ofMillis(25);

    /** One logical write as its client saw it: every answer it got, the last one a 201 unless it gave up. */
    private record Write(String key, boolean user, String identity, List<Integer> answers, boolean replayed) {
        boolean created() {
            return !answers.isEmpty() && answers.get(answers.size() - 1) == 201;
        }
    }

    @Test
    void retriedWritesEndWithExactlyOneRowPerKeyAndEveryClientHoldingA201() throws Exception {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, 9)); // the writes' organisation
        String prefix = "retry-" + Long.toHexString(System.nanoTime()) + "-";
        long owner = ((Number) Http.json(api.postJson(
                                "/users",
                                "{\"email\":\"" + prefix + "owner@x.io\","
                                        + "\"role\":\"member\",\"orgId\":9,\"age\":40}"))
                        .get("id"))
                .longValue();
        Instant base = Instant.now().minus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        FaultSummary summary = new FaultSummary("5. writes retried with Idempotency-Key");

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong sequence = new AtomicLong();
        ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        for (int c = 0; c < CLIENTS; c++) {
            clients.submit(() -> {
                while (running.get()) {
                    long n = sequence.incrementAndGet();
                    boolean user = n % 2 == 0;
                    String identity =
                            user ? prefix + n + "@x.io" : base.plusMillis(n).toString();
                    String body = user
                            ? "{\"email\":\"" + identity + "\",\"role\":\"viewer\",\"orgId\":9,\"age\":30}"
                            : "{\"userId\":" + owner + ",\"amount\":\"" + n + ".25\",\"createdAt\":\"" + identity
                                    + "\"}";
                    writes.add(untilCreated(
                            api,
                            user ? "/users" : "/transactions",
                            prefix + "key-" + n,
                            body,
                            user,
                            identity,
                            summary));
                }
            });
        }
        hold(Duration.ofSeconds(2));
        WRITER.cut();
        hold(Duration.ofSeconds(10));
        WRITER.restore();
        hold(Duration.ofSeconds(3));
        BOUNCER.stop();
        hold(Duration.ofSeconds(1));
        BOUNCER.start();
        hold(Duration.ofSeconds(4));
        running.set(false);
        clients.shutdown();
        assertThat(clients.awaitTermination(GIVE_UP.toSeconds() + 30, TimeUnit.SECONDS))
                .isTrue();

        List<Write> all = new ArrayList<>(writes);
        Map<String, Long> usersByEmail = new ConcurrentHashMap<>();
        DB.jdbi()
                .useHandle(
                        h -> h.createQuery("select email, count(*) from users where email like :p and email <> :owner "
                                        + "group by email")
                                .bind("p", prefix + "%")
                                .bind("owner", prefix + "owner@x.io")
                                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                                .forEach(e -> usersByEmail.put(e.getKey(), e.getValue())));
        Map<String, Long> transactionsByTime = new ConcurrentHashMap<>();
        DB.jdbi()
                .useHandle(h -> h.createQuery("select created_at, count(*) from transactions where user_id = :owner "
                                + "group by created_at")
                        .bind("owner", owner)
                        .map((rs, ctx) ->
                                Map.entry(rs.getTimestamp(1).toInstant().toString(), rs.getLong(2)))
                        .forEach(e -> transactionsByTime.put(e.getKey(), e.getValue())));

        long retried = all.stream().filter(w -> w.answers().size() > 1).count();
        long replayed = all.stream().filter(Write::replayed).count();
        long answers = all.stream().mapToLong(w -> w.answers().size()).sum();
        long users = all.stream().filter(Write::user).count();
        summary.report(
                0,
                0,
                null,
                String.format(
                        "%d writes by %d retrying clients (%d answers); %d needed a retry, "
                                + "%d got their 201 as a replay of a write that had committed; every write one row",
                        all.size(), CLIENTS, answers, retried, replayed));

        assertThat(all).as("every write ends with its client holding a 201").allMatch(Write::created);
        assertThat(all).as("the faults were felt").anyMatch(w -> w.answers().size() > 1);
        assertThat(all)
                .as("no answer but 201, 503 (+ Retry-After), 409 in flight or no answer at all")
                .allMatch(w -> w.answers().stream().allMatch(s -> s == 201 || s == 503 || s == 409 || s == -1));
        assertThat(usersByEmail.size()).as("one user row per user write").isEqualTo(users);
        assertThat(usersByEmail.values()).as("exactly one").allMatch(c -> c == 1);
        assertThat(transactionsByTime.size())
                .as("one transaction row per transaction write")
                .isEqualTo(all.size() - users);
        assertThat(transactionsByTime.values()).as("exactly one").allMatch(c -> c == 1);
        for (Write w : all) {
            assertThat(w.user() ? usersByEmail : transactionsByTime).as(w.key()).containsKey(w.identity());
        }
    }

    /** Sends the write, and again after any answer but a 201 (or none), until a 201 or {@link #GIVE_UP}. */
    private static Write untilCreated(
            Http api, String path, String key, String body, boolean user, String identity, FaultSummary summary) {
        List<Integer> answers = new ArrayList<>();
        boolean replayed = false;
        long deadline = System.nanoTime() + GIVE_UP.toNanos();
        while (System.nanoTime() < deadline) {
            int status;
            try {
                HttpResponse<String> response = api.send(HttpRequest.newBuilder(api.uri(path))
                        .timeout(Duration.ofSeconds(10))
                        .header("Content-Type", "application/json")
                        .header("Idempotency-Key", key)
                        .POST(HttpRequest.BodyPublishers.ofString(body)));
                status = response.statusCode();
                replayed = response.headers().firstValue("Idempotent-Replayed").isPresent();
            } catch (RuntimeException e) {
                status = -1; // unanswered: refused, reset or timed out
            }
            answers.add(status);
            summary.record(status);
            if (status == 201) {
                break;
            }
            LockSupport.parkNanos(PAUSE.toNanos());
        }
        return new Write(key, user, identity, answers, replayed);
    }

    private static void hold(Duration duration) {
        LockSupport.parkNanos(duration.toNanos());
    }
}
