package dev.fortress.ops;

import com.codahale.metrics.Gauge;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A gauge whose value comes from the database (or another store that can be slow or away), read
 * at most once an interval (a second) on {@code reader}. A caller waits for a fresh read at most
 * {@code wait} (a second) after that read began, then takes the last value (null when none): one
 * scrape of many gauges waits that long at most, not a pool wait (maxWaitForConnection) per gauge,
 * which under saturation made a scrape take over 10 s. {@code load} should catch its own failures
 * (and return null or a last value); one that throws leaves the previous value in place, and so
 * does a reader that refuses the read (shut down: the application is stopping).
 */
public final class BoundedRead<T> implements Gauge<T> {

    static final Duration INTERVAL = Duration.ofSeconds(1);
    /** Far above a normal read's time, yet a scrape stays well inside Prometheus's timeout. */
    static final Duration WAIT = Duration.ofSeconds(1);

    private record Pending(CompletableFuture<Void> done, long waitUntil) {}

    private final Supplier<T> load;
    private final Executor reader;
    private final long intervalNanos;
    private final long waitNanos;
    private final AtomicReference<Pending> pending = new AtomicReference<>();
    private volatile T value;
    private volatile long readAt;

    /** Read at most once a second, waited for at most a second. */
    public BoundedRead(Supplier<T> load, Executor reader) {
        this(load, reader, INTERVAL, WAIT);
    }

    /**
     * @param interval least time from the end of one read to the start of the next
     * @param wait     how long after a read began its callers wait for it
     */
    public BoundedRead(Supplier<T> load, Executor reader, Duration interval, Duration wait) {
        this.load = load;
        this.reader = reader;
        this.intervalNanos = interval.toNanos();
        this.waitNanos = wait.toNanos();
        this.readAt = System.nanoTime() - intervalNanos;
    }

    @Override
    public T getValue() {
        Pending current = pending.get();
        long now = System.nanoTime();
        if (current == null && now - readAt >= intervalNanos) {
            Pending mine = new Pending(new CompletableFuture<>(), now + waitNanos);
            if (pending.compareAndSet(null, mine)) {
                try {
                    reader.execute(() -> {
                        try {
                            value = load.get();
                        } finally {
                            readAt = System.nanoTime();
                            pending.set(null);
                            mine.done().complete(null);
                        }
                    });
                } catch (RejectedExecutionException e) {
                    pending.set(null); // the next caller asks again
                    mine.done().complete(null);
                    return value;
                }
            }
            current = pending.get();
        }
        if (current != null) {
            long left = current.waitUntil() - System.nanoTime();
            try {
                if (left > 0) {
                    current.done().get(left, TimeUnit.NANOSECONDS);
                }
            } catch (TimeoutException | ExecutionException e) {
                // the last value will do
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return value;
    }
}
