package dev.fortress.testing;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A bounded closed-loop load for a fault scenario: a fixed number of clients send requests one
 * after another until stopped, and every request is kept as a {@link Call} (when it started and
 * ended, what it answered), so a test can say exactly which answers fell inside a fault window.
 * Each client pauses briefly after each answer, longer after an error (as a client honouring
 * {@code Retry-After} would, though shorter, so an outage is probed steadily rather than flooded):
 * the load stays bounded, below what the service can serve on two cores, so latencies measure
 * the fault rather than a CPU queue. Each answer is also counted in the scenario's
 * {@link FaultSummary}.
 */
public final class FaultLoad {

    /** A pause after a 2xx answer: 8 clients then send at most ~800 requests/s. */
    private static final Duration THINK = Duration.ofMillis(10);
    /** A pause after a non-2xx answer (a real client would wait Retry-After; this keeps probing). */
    private static final Duration ERROR_PAUSE = Duration.ofMillis(25);

    /** One request as its client saw it; {@code status} -1 for a client-side failure; times are System.nanoTime(). */
    public record Call(
            String route, String key, long started, long ended, int status, String retryAfter, String cache) {

        public boolean ok() {
            return status >= 200 && status < 300;
        }

        public Duration latency() {
            return Duration.ofNanos(ended - started);
        }

        /** True when the call was under way at {@code instant}. */
        public boolean spans(long instant) {
            return started <= instant && ended >= instant;
        }
    }

    /** What a client sends: a route name for the report, a key (e.g. the email written), the request. */
    public record Request(String route, String key, Supplier<HttpResponse<String>> send) {}

    private final FaultSummary summary;
    private final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong sequence = new AtomicLong();
    private final ExecutorService clients;

    private FaultLoad(FaultSummary summary, int clientCount, LongFunction<Request> requests) {
        this.summary = summary;
        this.clients = Executors.newFixedThreadPool(clientCount);
        for (int i = 0; i < clientCount; i++) {
            clients.submit(() -> {
                while (running.get()) {
                    Call call = send(requests.apply(sequence.incrementAndGet()));
                    LockSupport.parkNanos((call.ok() ? THINK : ERROR_PAUSE).toNanos());
                }
            });
        }
    }

    /** Starts {@code clientCount} clients, each sending {@code requests.apply(n)} for n = 1, 2, ... across them. */
    public static FaultLoad start(FaultSummary summary, int clientCount, LongFunction<Request> requests) {
        return new FaultLoad(summary, clientCount, requests);
    }

    /** Lets the load run for {@code duration}. */
    public static void hold(Duration duration) {
        LockSupport.parkNanos(duration.toNanos());
    }

    /** The calls finished so far. */
    public List<Call> soFar() {
        return new ArrayList<>(calls);
    }

    /** Waits until a call started at or after {@code since} ends and matches, or {@code timeout}; the first such. */
    public Optional<Call> await(long since, Predicate<Call> matching, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<Call> found = first(soFar(), c -> c.started() >= since && matching.test(c));
            if (found.isPresent()) {
                return found;
            }
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
        }
        return Optional.empty();
    }

    /** Stops the clients, lets each finish its request (every request has a 10 s deadline), returns every call. */
    public List<Call> stop() throws InterruptedException {
        running.set(false);
        clients.shutdown();
        if (!clients.awaitTermination(30, TimeUnit.SECONDS)) {
            throw new AssertionError("load clients did not stop: a request hangs past its deadline");
        }
        List<Call> all = new ArrayList<>(calls);
        all.sort(Comparator.comparingLong(Call::started));
        return all;
    }

    public static Optional<Call> first(List<Call> calls, Predicate<Call> matching) {
        return calls.stream().filter(matching).min(Comparator.comparingLong(Call::ended));
    }

    /**
     * How long this machine took, at worst, to answer a request the fault does not touch (e.g. a
     * read on an unaffected pool) during the load: the slack a latency bound must allow for CPU
     * starvation on a shared 2-core runner, never less than {@code floor}.
     */
    public static Duration stall(List<Call> calls, Predicate<Call> untouched, Duration floor) {
        Duration worst = maxLatency(
                calls.stream().filter(c -> c.ok() && untouched.test(c)).toList());
        return worst.compareTo(floor) > 0 ? worst : floor;
    }

    public static Duration maxLatency(List<Call> calls) {
        return calls.stream().map(Call::latency).max(Comparator.naturalOrder()).orElse(Duration.ZERO);
    }

    private Call send(Request request) {
        long started = System.nanoTime();
        int status;
        String retryAfter = null;
        String cache = null;
        try {
            HttpResponse<String> response = request.send().get();
            status = response.statusCode();
            retryAfter = response.headers().firstValue("Retry-After").orElse(null);
            cache = response.headers().firstValue("X-Cache").orElse(null);
        } catch (RuntimeException e) {
            status = -1;
        }
        Call call = new Call(request.route(), request.key(), started, System.nanoTime(), status, retryAfter, cache);
        calls.add(call);
        summary.record(status);
        return call;
    }
}
