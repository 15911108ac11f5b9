package dev.fortress.fleet;

import dev.fortress.testing.Http;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
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
 * {@code clients} clients, each writing transactions of {@code user} one after another without an
 * Idempotency-Key, each write sent once: without a key a client cannot tell its retry from a second
 * write. Each write has an amount of its own ({@code <n>.75}), so every row names the write it came
 * from: a write the server ran twice (its second run of a write a standby refused with 25006) would
 * show as two rows of one amount. A client waits {@link Fleet#CLIENT_PATIENCE} for an answer and
 * {@link #PAUSE} between writes.
 */
final class UnkeyedWriters {

    /** Between a client's writes: they come beside the keyed writers, not instead of them. */
    static final Duration PAUSE = Duration.ofMillis(20);

    private final ConcurrentLinkedQueue<Attempt> attempts = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong sequence = new AtomicLong();
    private final ExecutorService clients;
    private final long user;

    /** One write, as its client saw it (status -1: no answer; id: the 201's). */
    record Attempt(long n, long started, long ended, int status, String retryAfter, Long id) {

        boolean ok() {
            return status == 201;
        }

        /** What a client without a key expects in a failover: 503 with Retry-After, or no answer. */
        boolean expectedFailure() {
            return (status == 503 && retryAfter != null) || status < 0;
        }
    }

    /**
     * The writes against {@code user}'s rows: how many rows each write left (by its amount), the
     * acknowledged writes without their row, and the failed writes that left a row all the same.
     */
    record Outcome(List<Attempt> attempts, Map<Long, Long> rowsByWrite, Set<Long> rowIds) {

        static Outcome of(List<Attempt> attempts, long user) {
            List<Map.Entry<Long, BigDecimal>> rows = Fleet.db()
                    .withHandle(h -> h.select("select id, amount from transactions where user_id = ?", user)
                            .map((rs, ctx) -> Map.entry(rs.getLong("id"), rs.getBigDecimal("amount")))
                            .list());
            Map<Long, Long> byWrite = rows.stream()
                    .collect(Collectors.groupingBy(r -> r.getValue().longValue(), Collectors.counting()));
            Set<Long> ids = rows.stream().map(Map.Entry::getKey).collect(Collectors.toSet());
            return new Outcome(attempts, byWrite, ids);
        }

        List<Attempt> failed() {
            return attempts.stream().filter(a -> !a.ok()).toList();
        }

        /** Writes with more than one row: run twice. */
        List<Long> twice() {
            return rowsByWrite.entrySet().stream()
                    .filter(e -> e.getValue() > 1)
                    .map(Map.Entry::getKey)
                    .toList();
        }

        /** Acknowledged writes whose row (the 201's id) is not there. */
        long lost() {
            return attempts.stream()
                    .filter(Attempt::ok)
                    .filter(a -> !rowIds.contains(a.id()) || !rowsByWrite.containsKey(a.n()))
                    .count();
        }

        /** Failed writes that committed all the same (their answer was lost with the server). */
        long failedButWritten() {
            return failed().stream().filter(a -> rowsByWrite.containsKey(a.n())).count();
        }

        /** Rows that no write of these clients stands for. */
        long strangers() {
            Set<Long> sent = attempts.stream().map(Attempt::n).collect(Collectors.toSet());
            return rowsByWrite.keySet().stream().filter(n -> !sent.contains(n)).count();
        }

        Map<String, Long> failedByStatus() {
            return failed().stream()
                    .collect(Collectors.groupingBy(a -> String.valueOf(a.status()), Collectors.counting()));
        }
    }

    UnkeyedWriters(int count, Http lb, long user) {
        this.user = user;
        this.clients = Executors.newFixedThreadPool(count);
        for (int i = 0; i < count; i++) {
            clients.submit(() -> {
                while (running.get()) {
                    long n = sequence.incrementAndGet();
                    String body = "{\"userId\":" + user + ",\"amount\":\"" + n + ".75\",\"createdAt\":\""
                            + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "\"}";
                    attempts.add(send(lb, n, body));
                    LockSupport.parkNanos(PAUSE.toNanos());
                }
            });
        }
    }

    private static Attempt send(Http lb, long n, String body) {
        long started = System.nanoTime();
        try {
            HttpResponse<String> response = FleetLoad.postTransaction(lb, null, body);
            return new Attempt(
                    n,
                    started,
                    System.nanoTime(),
                    response.statusCode(),
                    response.headers().firstValue("Retry-After").orElse(null),
                    FleetLoad.createdId(response));
        } catch (RuntimeException e) {
            return new Attempt(n, started, System.nanoTime(), -1, null, null);
        }
    }

    /** Stops the clients once their writes under way are answered; what they sent, and its rows. */
    Outcome stop() throws InterruptedException {
        halt();
        if (!clients.awaitTermination(2, TimeUnit.MINUTES)) {
            throw new AssertionError("unkeyed writers did not stop");
        }
        List<Attempt> all = new ArrayList<>(attempts);
        all.sort(Comparator.comparingLong(Attempt::started));
        return Outcome.of(all, user);
    }

    /** Asks the clients to stop after the write each has under way (a test that failed first). */
    void halt() {
        running.set(false);
        clients.shutdown();
    }
}
