package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.ChildFortress;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/**
 * Issue 9, scenario 6: SIGTERM to a Fortress JVM under concurrent load. With
 * {@code SHUTDOWN_DRAIN_PERIOD=3s} readiness ({@code GET /health-check}) must answer 503 first while
 * requests are still served; then Jetty stops accepting and finishes what it accepted. So: every
 * request that got an answer got a valid one (no 5xx), every write answered 201 is in the
 * database, and requests fail to connect only once the drain period is over.
 */
class GracefulShutdownFaultTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final Jdbi JDBI = DB.jdbi();
    private static final Duration DRAIN = Duration.ofSeconds(3);
    private static final int CLIENTS = 8;
    /** The load's four organisations (1 to 4), each called with a key of its own. */
    private static final int ORGS = 4;

    private static final List<String> KEYS = java.util.stream.LongStream.rangeClosed(1, ORGS)
            .mapToObj(org -> TestKeys.of(DB, org))
            .toList();

    /**
     * One request as the client saw it: when it started and ended (ns), its status or -1, and for
     * a failure what it was. {@code stopping}: the 503 that Jetty's graceful shutdown answers to a
     * request arriving on a kept-alive connection once it no longer accepts work (not the
     * application's "database unavailable" 503): a refusal, like a refused connection, not a
     * request it accepted and failed.
     */
    record Outcome(String what, long start, long end, int status, String error, boolean stopping) {

        boolean refused() {
            return status < 0 || stopping;
        }
    }

    @Test
    void sigtermUnderLoadFlipsReadinessFirstThenDrainsWithoutErrors() throws Exception {
        Map<String, String> env = ChildFortress.environment(DB);
        env.put("SHUTDOWN_DRAIN_PERIOD", DRAIN.toSeconds() + "s");
        env.put("REDIS_URL", "redis://127.0.0.1:6379/11");
        FaultSummary summary = new FaultSummary("graceful shutdown (SIGTERM) under load");
        Queue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
        Queue<String> created = new ConcurrentLinkedQueue<>();
        AtomicLong healthFlip = new AtomicLong();
        AtomicLong lastHealthy = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        long sigterm;
        int exitCode;
        Duration exitAfter;
        String log;

        try (ChildFortress fortress = ChildFortress.start("shutdown", env)) {
            List<Long> ids = new ArrayList<>(); // user i is of organisation 1 + i % ORGS
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> user = fortress.api()
                        .as(key(i))
                        .postJson(
                                "/users",
                                "{\"email\":\"seed" + i + "@drain.io\",\"role\":\"member\",\"orgId\":" + org(i)
                                        + ",\"age\":30}");
                assertThat(user.statusCode()).isEqualTo(201);
                ids.add(((Number) Http.json(user).get("id")).longValue());
            }
            HttpClient client = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(1))
                    .build();
            String base = "http://127.0.0.1:" + fortress.port();
            ExecutorService pool = Executors.newFixedThreadPool(CLIENTS + 1);
            AtomicLong sequence = new AtomicLong();
            for (int c = 0; c < CLIENTS; c++) {
                pool.submit(() -> {
                    while (!stop.get()) {
                        long n = sequence.incrementAndGet();
                        HttpRequest.Builder request;
                        String what;
                        // Every request in the name of the organisation it writes or reads.
                        long of;
                        if (n % 3 == 0) {
                            of = n;
                            String email = "load" + n + "@drain.io";
                            what = "POST /users " + email;
                            request = HttpRequest.newBuilder(URI.create(base + "/users"))
                                    .header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString("{\"email\":\"" + email
                                            + "\",\"role\":\"viewer\",\"orgId\":" + org(n) + ",\"age\":41}"));
                        } else if (n % 7 == 0) {
                            of = n;
                            what = "GET /orgs/" + org(n) + "/stats";
                            request = HttpRequest.newBuilder(URI.create(base + "/orgs/" + org(n) + "/stats"));
                        } else {
                            of = n % ids.size();
                            what = "GET /users/" + ids.get((int) of);
                            request = HttpRequest.newBuilder(URI.create(base + "/users/" + ids.get((int) of)));
                        }
                        request.header("Authorization", "Bearer " + key(of));
                        long start = System.nanoTime();
                        Outcome outcome = send(client, request, what, start);
                        outcomes.add(outcome);
                        if (outcome.status() == 201) {
                            created.add(what.substring("POST /users ".length()));
                        }
                        if (outcome.status() < 0) {
                            pause(20); // a refused client retries, as a real one would, without spinning
                        }
                    }
                });
            }
            HttpClient healthClient = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(1))
                    .build();
            pool.submit(() -> {
                while (!stop.get()) {
                    Outcome health = send(
                            healthClient,
                            HttpRequest.newBuilder(URI.create(base + "/health-check")),
                            "GET /health-check",
                            System.nanoTime());
                    if (health.status() == 200) {
                        lastHealthy.set(health.end());
                    } else if (health.status() == 503) {
                        healthFlip.compareAndSet(0, health.end());
                    }
                    pause(25);
                }
            });

            pause(1500); // under load before the signal
            sigterm = System.nanoTime();
            fortress.terminate();
            exitCode = fortress.awaitExit(DRAIN.plusSeconds(30));
            exitAfter = Duration.ofNanos(System.nanoTime() - sigterm);
            pause(500); // clients now meet a closed port
            stop.set(true);
            pool.shutdown();
            assertThat(pool.awaitTermination(20, TimeUnit.SECONDS)).isTrue();
            log = fortress.log();
        }

        long drainEnd = sigterm + DRAIN.toNanos();
        List<Outcome> all = new ArrayList<>(outcomes);
        all.forEach(o -> summary.record(o.status()));
        List<Outcome> answered = all.stream().filter(o -> !o.refused()).toList();
        List<Outcome> fiveXx = answered.stream().filter(o -> o.status() >= 500).toList();
        List<Outcome> refused = all.stream().filter(Outcome::refused).toList();
        long refusedWith503 = refused.stream().filter(Outcome::stopping).count();
        // The child's drain ends at least DRAIN after this JVM sent the signal: a refusal seen
        // before then was a refusal during the drain.
        List<Outcome> refusedEarly =
                refused.stream().filter(o -> o.end() < drainEnd).toList();
        long servedAfterFlip = answered.stream()
                .filter(o -> o.start() > healthFlip.get() && o.status() < 300)
                .count();
        List<String> missing = created.stream()
                .filter(email -> JDBI.withHandle(h -> h.select("select count(*) from users where email = ?", email)
                                .mapTo(Long.class)
                                .one())
                        != 1)
                .toList();
        List<String> refusedButWritten = refused.stream()
                .filter(o -> o.stopping() && o.what().startsWith("POST"))
                .map(o -> o.what().substring("POST /users ".length()))
                .filter(email -> JDBI.withHandle(h -> h.select("select count(*) from users where email = ?", email)
                                .mapTo(Long.class)
                                .one())
                        != 0)
                .toList();
        long duplicated = JDBI.withHandle(h -> h.select("select count(*) - count(distinct lower(email)) from users")
                .mapTo(Long.class)
                .one());
        String note = String.format(
                "drain %d s; readiness 503 after %d ms; accepted %d, completed %d, 5xx %d, "
                        + "refused %d (%d of them 503 from the stopping server; all after the "
                        + "drain: %s); %d served after readiness flipped; exit %d after %.1f s",
                DRAIN.toSeconds(),
                healthFlip.get() == 0 ? -1 : (healthFlip.get() - sigterm) / 1_000_000,
                answered.size(),
                answered.size() - fiveXx.size(),
                fiveXx.size(),
                refused.size(),
                refusedWith503,
                refusedEarly.isEmpty(),
                servedAfterFlip,
                exitCode,
                exitAfter.toMillis() / 1000.0);
        summary.report(missing.size(), duplicated, null, note);

        // The drain is an order of events, each kept apart by the DRAIN-long sleep of the child's
        // shutdown: ready, SIGTERM, readiness 503 while requests are still served, only then
        // refusals, then the exit. Durations are only floors (a sleep cannot end early).
        assertThat(lastHealthy.get())
                .as("ready before the signal")
                .isLessThan(healthFlip.get())
                .isGreaterThan(0);
        assertThat(healthFlip.get()).as("readiness answers 503 after SIGTERM").isGreaterThan(sigterm);
        assertThat(refused.stream().mapToLong(Outcome::end).min().orElse(Long.MAX_VALUE))
                .as("readiness answers 503 before the server refuses anything")
                .isGreaterThan(healthFlip.get());
        assertThat(servedAfterFlip)
                .as("requests are still served while the load balancer drains")
                .isGreaterThan(20);
        assertThat(fiveXx)
                .as("no answer is a 5xx (ms from SIGTERM):\n%s", describe(fiveXx, sigterm))
                .isEmpty();
        List<Outcome> fourXx = answered.stream()
                .filter(o -> o.status() >= 400 && o.status() < 500)
                .toList();
        assertThat(fourXx)
                .as("every request of the load is served, with its organisation's key:\n%s", describe(fourXx, sigterm))
                .isEmpty();
        assertThat(refusedEarly)
                .as(
                        "no connection fails before the drain period is over (ms from SIGTERM):\n%s",
                        describe(refusedEarly, sigterm))
                .isEmpty();
        assertThat(refused)
                .as("once stopped the port refuses (the load really ran past the stop)")
                .isNotEmpty();
        assertThat(missing).as("every write answered 201 is in the database").isEmpty();
        assertThat(refusedButWritten)
                .as("a write refused with 503 was not done")
                .isEmpty();
        assertThat(refused.stream().filter(Outcome::stopping).map(Outcome::error))
                .as("the stopping server's 503 is in the API's error shape")
                .allSatisfy(
                        answer -> assertThat(answer).contains("{\"code\":503,\"message\":\"Service Unavailable\"}"));
        assertThat(duplicated).isZero();
        // That it stops at all is awaitExit's to say: DRAIN plus Jetty's 30 s shutdownGracePeriod.
        assertThat(exitAfter).as("exits only after the drain period").isGreaterThanOrEqualTo(DRAIN);
        assertThat(log).as("shutdown logged no errors").doesNotContain("ERROR");
    }

    /** The organisation of the load's n-th request or user. */
    private static long org(long n) {
        return 1 + n % ORGS;
    }

    private static String key(long n) {
        return KEYS.get((int) (org(n) - 1));
    }

    private static Outcome send(HttpClient client, HttpRequest.Builder request, String what, long start) {
        try {
            HttpResponse<String> response =
                    client.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            boolean stopping = response.statusCode() == 503 && !response.body().contains("database unavailable");
            return new Outcome(
                    what,
                    start,
                    System.nanoTime(),
                    response.statusCode(),
                    response.statusCode() >= 500 ? response.headers().map() + " " + response.body() : null,
                    stopping);
        } catch (IOException e) {
            return new Outcome(
                    what, start, System.nanoTime(), -1, e.getClass().getSimpleName() + ": " + e.getMessage(), false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(what, start, System.nanoTime(), -1, "interrupted", false);
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String describe(List<Outcome> outcomes, long origin) {
        return outcomes.stream()
                .limit(20)
                .map(o -> String.format(
                        "%s at +%d ms: %s %s",
                        o.what(), (o.start() - origin) / 1_000_000, o.status(), o.error() == null ? "" : o.error()))
                .collect(Collectors.joining("\n"));
    }
}
