package dev.fortress.fleet;

import dev.fortress.testing.Http;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * A bounded closed-loop load through the load balancer: a few clients send requests one after
 * another until stopped, each pausing briefly after each answer, and every request is kept with
 * its answer (a write's body too, to find its row). The pause keeps the load under what one API
 * key may send (1,000 requests/s across the fleet) and under what these two cores serve while an
 * instance restarts, so what it measures is the roll, not a queue.
 */
final class FleetLoad {

    /** 8 clients pausing 10 ms after each answer send at most ~800 requests/s. */
    private static final Duration THINK = Duration.ofMillis(10);

    /** A request: its route (for the report), its key (an Idempotency-Key, or null), how to send it. */
    record Request(String route, String key, Supplier<HttpResponse<String>> send) {}

    /**
     * One request as its client saw it: status -1 and {@code error} for a client-side failure (no answer);
     * {@code cache} the answer's X-Cache (hit or miss on the stats), else null.
     */
    record Call(
            String route,
            String key,
            long started,
            long ended,
            int status,
            String body,
            boolean replayed,
            String cache,
            String error) {

        boolean ok() {
            return status >= 200 && status < 300;
        }

        @Override
        public String toString() {
            return route + (key == null ? "" : " [" + key + "]") + " -> "
                    + (status < 0 ? "no answer: " + error : status + " " + abbreviate(body));
        }

        private static String abbreviate(String body) {
            return body == null ? "" : body.length() > 200 ? body.substring(0, 200) + "..." : body;
        }
    }

    private final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong sequence = new AtomicLong();
    private final ExecutorService clients;

    private FleetLoad(int clientCount, LongFunction<Request> requests) {
        clients = Executors.newFixedThreadPool(clientCount);
        for (int i = 0; i < clientCount; i++) {
            clients.submit(() -> {
                while (running.get()) {
                    send(requests.apply(sequence.incrementAndGet()));
                    LockSupport.parkNanos(THINK.toNanos());
                }
            });
        }
    }

    /** Starts {@code clientCount} clients sending {@code requests.apply(n)} for n = 1, 2, ... across them. */
    static FleetLoad start(int clientCount, LongFunction<Request> requests) {
        return new FleetLoad(clientCount, requests);
    }

    /** How many requests have been answered (or failed) so far. */
    int answered() {
        return calls.size();
    }

    /** The calls so far, in order of their start (the load goes on). */
    List<Call> snapshot() {
        List<Call> all = new ArrayList<>(calls);
        all.sort(Comparator.comparingLong(Call::started));
        return all;
    }

    /** Waits until {@code count} requests more than now have ended, or {@code timeout}. */
    void awaitMore(int count, Duration timeout) {
        int target = answered() + count;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (answered() < target) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the load got " + (answered() - target + count) + " of " + count
                        + " answers within " + timeout.toSeconds() + " s");
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }

    /** Stops the clients, lets each finish its request (each has a 10 s deadline), returns every call in order. */
    List<Call> stop() throws InterruptedException {
        running.set(false);
        clients.shutdown();
        if (!clients.awaitTermination(60, TimeUnit.SECONDS)) {
            throw new AssertionError("load clients did not stop: a request hangs past its deadline");
        }
        List<Call> all = new ArrayList<>(calls);
        all.sort(Comparator.comparingLong(Call::started));
        return all;
    }

    /** A user of organisation 7 of its own ({@code <prefix>@fleet.test}), created through {@code lb}: its id. */
    static long newUser(Http lb, String prefix) {
        HttpResponse<String> created = lb.postJson(
                "/users",
                "{\"email\":\"" + prefix + "@fleet.test\",\"role\":\"member\"," + "\"orgId\":" + Fleet.ORG
                        + ",\"age\":30}");
        if (created.statusCode() != 201) {
            throw new AssertionError("POST /users answered " + created.statusCode() + ": " + created.body());
        }
        return ((Number) Http.json(created).get("id")).longValue();
    }

    /**
     * Mostly reads (a seeded user, the organisation's stats); every fifth request a write of a
     * transaction of {@code user} with the Idempotency-Key {@code <prefix>-<n>}.
     */
    static LongFunction<Request> readsAndKeyedWrites(Http lb, String prefix, long user) {
        return n -> {
            if (n % 5 == 0) {
                String key = prefix + "-" + n;
                String body = "{\"userId\":" + user + ",\"amount\":\"" + (n % 1000) + ".25\",\"createdAt\":\""
                        + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "\"}";
                return new Request(
                        "POST /transactions",
                        key,
                        () -> lb.send(HttpRequest.newBuilder(lb.uri("/transactions"))
                                .header("Content-Type", "application/json")
                                .header("Idempotency-Key", key)
                                .POST(HttpRequest.BodyPublishers.ofString(body))));
            }
            if (n % 5 == 1) {
                return new Request("GET /orgs/{id}/stats", null, () -> lb.get("/orgs/" + Fleet.ORG + "/stats"));
            }
            return new Request("GET /users/{id}", null, () -> lb.get("/users/" + Fleet.SEED_USER));
        };
    }

    /** The ids of the transactions that {@code calls}' keyed writes were answered 201 with, in order. */
    static List<Long> acknowledgedWrites(List<Call> calls) {
        return calls.stream()
                .filter(c -> c.key() != null && c.status() == 201)
                .map(c -> idIn(c.body()))
                .toList();
    }

    /**
     * POST /transactions through {@code lb} with {@code body}, with an Idempotency-Key when {@code key} is
     * not null, waiting {@link Fleet#CLIENT_PATIENCE} for the answer.
     */
    static HttpResponse<String> postTransaction(Http lb, String key, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(lb.uri("/transactions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            request.header("Idempotency-Key", key);
        }
        return lb.send(request, Fleet.CLIENT_PATIENCE);
    }

    /** The id of the transaction a 201 created; null for any other answer. */
    static Long createdId(HttpResponse<String> response) {
        return response.statusCode() == 201 ? idIn(response.body()) : null;
    }

    /** The "id" of a created transaction's JSON. */
    private static long idIn(String body) {
        return ((Number) Fleet.json(body).get("id")).longValue();
    }

    /** The ids of {@code user}'s rows in {@code transactions} on the primary. */
    static List<Long> transactionRows(long user) {
        return Fleet.db()
                .withHandle(h -> h.select("select id from transactions where user_id = ?", user)
                        .mapTo(Long.class)
                        .list());
    }

    /** How many calls got each status ("no answer" for a client-side failure), for a summary line. */
    static Map<String, Long> byStatus(List<Call> calls) {
        return calls.stream()
                .collect(Collectors.groupingBy(
                        c -> c.status() < 0 ? "no answer" : String.valueOf(c.status()),
                        TreeMap::new,
                        Collectors.counting()));
    }

    private void send(Request request) {
        long started = System.nanoTime();
        Call call;
        try {
            HttpResponse<String> response = request.send().get();
            boolean write = !"GET".equals(response.request().method());
            call = new Call(
                    request.route(),
                    request.key(),
                    started,
                    System.nanoTime(),
                    response.statusCode(),
                    write || response.statusCode() >= 300 ? response.body() : null,
                    response.headers().firstValue("Idempotent-Replayed").isPresent(),
                    response.headers().firstValue("X-Cache").orElse(null),
                    null);
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            call = new Call(
                    request.route(),
                    request.key(),
                    started,
                    System.nanoTime(),
                    -1,
                    null,
                    false,
                    null,
                    cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
        calls.add(call);
    }
}
