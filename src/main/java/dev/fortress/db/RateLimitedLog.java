package dev.fortress.db;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * A WARN log for failures that repeat per request: per cause key, the first occurrence in an
 * interval is logged at once, the repeats within it are only counted, and the next line of that
 * key (or, once the interval has passed, a summary line {@code <key> (N similar suppressed in the
 * last 10s)}) carries their count, so nothing disappears silently. Keys name a cause from a small
 * fixed set (an SQLSTATE and an exception class, a statement's name), never a varying message:
 * each stays in memory for the life of the JVM.
 * <p>
 * Ours because nothing on the classpath counts per key: logback's {@code DuplicateMessageFilter}
 * drops repeats of a message text globally without counting them, and Dropwizard's throttling
 * appender slows a whole appender down. Made by the application's {@link LogLimiter}, whose thread
 * writes the summaries.
 */
public final class RateLimitedLog {

    static final Duration INTERVAL = Duration.ofSeconds(10);

    private final Logger log;
    private final long intervalNanos;
    private final String interval;
    private final LongSupplier nanoClock;
    private final Map<String, Window> windows = new ConcurrentHashMap<>();

    /** Time from {@code nanoClock}; summaries when {@link #flush()} is called ({@link LogLimiter} does). */
    RateLimitedLog(Logger log, Duration interval, LongSupplier nanoClock) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
        this.interval = interval.toMillis() % 1000 == 0 ? interval.toSeconds() + "s" : interval.toMillis() + "ms";
        this.nanoClock = nanoClock;
    }

    /**
     * Logs {@code format} with {@code arguments} at WARN (a trailing Throwable is its cause, as in
     * SLF4J) unless a line of {@code key} was logged less than the interval ago; then only counts it.
     */
    public void warn(String key, String format, Object... arguments) {
        long now = nanoClock.getAsLong();
        Window window = windows.get(key);
        if (window == null) {
            window = windows.computeIfAbsent(key, k -> new Window(now - intervalNanos));
        }
        long started = window.started.get();
        // Only the one caller that moves the window on logs; every other is counted.
        if (now - started < intervalNanos || !window.started.compareAndSet(started, now)) {
            window.suppressed.incrementAndGet();
            return;
        }
        long suppressed = window.suppressed.getAndSet(0);
        log.warn(suppressed == 0 ? format : format + suffix(suppressed), arguments);
    }

    /** Writes a summary line for each key whose interval has passed with repeats not yet reported. */
    void flush() {
        long now = nanoClock.getAsLong();
        windows.forEach((key, window) -> {
            if (now - window.started.get() >= intervalNanos && window.suppressed.get() > 0) {
                long suppressed = window.suppressed.getAndSet(0);
                if (suppressed > 0) {
                    log.warn("{}{}", key, suffix(suppressed));
                }
            }
        });
    }

    /** Repeats counted and not yet reported in any line, over all keys. */
    public long unreported() {
        return windows.values().stream().mapToLong(w -> w.suppressed.get()).sum();
    }

    private String suffix(long suppressed) {
        return " (" + suppressed + " similar suppressed in the last " + interval + ")";
    }

    private static final class Window {
        final AtomicLong started;
        final AtomicLong suppressed = new AtomicLong();

        Window(long started) {
            this.started = new AtomicLong(started);
        }
    }
}
