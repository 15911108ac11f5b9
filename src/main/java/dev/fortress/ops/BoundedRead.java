package dev.fortress.ops;

import com.codahale.metrics.Gauge;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A gauge whose value comes from the database (or another store that can be slow or away), read
 * at most once a second on {@code reader}. A caller waits for a fresh read at most {@link #WAIT}
 * after that read began, then takes the last value (null when none): one scrape of many gauges
 * waits that long at most, not a pool wait (maxWaitForConnection) per gauge, which under
 * saturation made a scrape take over 10 s. {@code load} should catch its own failures (and return
 * null or a last value); one that throws leaves the previous value in place.
 */
public final class BoundedRead<T> implements Gauge<T> {

    static final long FRESH_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Far above a normal read's time, yet a scrape stays well inside Prometheus's timeout. */
    static final long WAIT = TimeUnit.SECONDS.toNanos(1);

    private record Pending(CompletableFuture<Void> done, long waitUntil) {
    }

    private final Supplier<T> load;
    private final Executor reader;
    private final AtomicReference<Pending> pending = new AtomicReference<>();
    private volatile T value;
    private volatile long readAt = System.nanoTime() - FRESH_NANOS;

    public BoundedRead(Supplier<T> load, Executor reader) {
        this.load = load;
        this.reader = reader;
    }

    @Override
    public T getValue() {
        Pending current = pending.get();
        long now = System.nanoTime();
        if (current == null && now - readAt >= FRESH_NANOS) {
            Pending mine = new Pending(new CompletableFuture<>(), now + WAIT);
            if (pending.compareAndSet(null, mine)) {
                reader.execute(() -> {
                    try {
                        value = load.get();
                    } finally {
                        readAt = System.nanoTime();
                        pending.set(null);
                        mine.done().complete(null);
                    }
                });
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
