package dev.fortress.fleet;

import dev.fortress.testing.Await;
import dev.fortress.testing.Http;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * {@code clients} clients, each writing transactions of {@code user} one after another, each with an
 * Idempotency-Key sent again (after Retry-After, at most 1 s) until it is acknowledged. A client waits
 * {@link Fleet#CLIENT_PATIENCE} for an answer.
 */
final class KeyedWriters {

    private final ConcurrentLinkedQueue<Attempt> attempts = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicLong sequence = new AtomicLong();
    private final ExecutorService clients;

    /** One attempt of one keyed write, as its client saw it (status -1: no answer). */
    record Attempt(String key, long started, long ended, int status, String retryAfter, Long id, boolean replayed) {

        boolean ok() {
            return status >= 200 && status < 300;
        }
    }

    /**
     * What the writers' attempts came to against {@code user}'s rows: each key's transaction ids (one,
     * replays included, when all is well), the rows, the acknowledged writes lost (no row) and the rows
     * no acknowledgement stands for, the failed attempts, and how long writes were unavailable: the
     * longest time between two acknowledgements of new writes (answer to answer; a replay of an earlier
     * commit does not count) from {@code since} (nanoTime) on.
     */
    record Outcome(
            Map<String, Set<Long>> idsByKey,
            List<Long> rows,
            long lost,
            long extra,
            List<Attempt> failed,
            Duration unavailable) {

        static Outcome of(List<Attempt> attempts, long user, long since) {
            Map<String, Set<Long>> idsByKey = attempts.stream()
                    .filter(Attempt::ok)
                    .collect(Collectors.groupingBy(Attempt::key, Collectors.mapping(Attempt::id, Collectors.toSet())));
            Set<Long> acknowledged =
                    idsByKey.values().stream().flatMap(Set::stream).collect(Collectors.toSet());
            List<Long> rows = FleetLoad.transactionRows(user);
            Set<Long> distinctRows = new HashSet<>(rows);
            long lost = acknowledged.stream()
                    .filter(id -> !distinctRows.contains(id))
                    .count();
            long extra = rows.size()
                    - acknowledged.stream().filter(distinctRows::contains).count();
            // New writes only: a replay of a key committed before the fault reads its stored answer, which
            // a promoted standby still in read-only mode gives while it takes no write.
            List<Attempt> oks = attempts.stream()
                    .filter(a -> a.ok() && !a.replayed())
                    .sorted(Comparator.comparingLong(Attempt::ended))
                    .toList();
            long gap = 0;
            for (int i = 1; i < oks.size(); i++) {
                if (oks.get(i).ended() > since) {
                    gap = Math.max(
                            gap, oks.get(i).ended() - Math.max(oks.get(i - 1).ended(), since));
                }
            }
            return new Outcome(
                    idsByKey,
                    rows,
                    lost,
                    extra,
                    attempts.stream().filter(a -> !a.ok()).toList(),
                    Duration.ofNanos(gap));
        }

        /** The failed attempts by status ("-1": no answer), for a FAULT line. */
        Map<String, Long> failedByStatus() {
            return failed.stream()
                    .collect(Collectors.groupingBy(a -> String.valueOf(a.status()), Collectors.counting()));
        }

        /** A failure a client retrying with its key expects: 503 with Retry-After, 409 (its earlier attempt still runs), no answer. */
        static boolean retryable(Attempt a) {
            return (a.status() == 503 && a.retryAfter() != null) || a.status() == 409 || a.status() < 0;
        }
    }

    KeyedWriters(int count, Http lb, String run, long user) {
        this.clients = Executors.newFixedThreadPool(count);
        for (int i = 0; i < count; i++) {
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
                        long pause = attempt.retryAfter() == null
                                ? 200
                                : Math.min(1000, 1000L * Long.parseLong(attempt.retryAfter()));
                        LockSupport.parkNanos(
                                Duration.ofMillis(Math.max(100, pause)).toNanos());
                    }
                }
            });
        }
    }

    private static Attempt send(Http lb, String key, String body) {
        long started = System.nanoTime();
        try {
            HttpResponse<String> response = FleetLoad.postTransaction(lb, key, body);
            return new Attempt(
                    key,
                    started,
                    System.nanoTime(),
                    response.statusCode(),
                    response.headers().firstValue("Retry-After").orElse(null),
                    FleetLoad.createdId(response),
                    response.headers().firstValue("Idempotent-Replayed").isPresent());
        } catch (RuntimeException e) {
            return new Attempt(key, started, System.nanoTime(), -1, null, null, false);
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
