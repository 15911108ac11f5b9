package dev.fortress.db;

import io.dropwizard.core.setup.Environment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * The application's {@link RateLimitedLog}s, one per logger, and what writes their summary lines. One
 * per application, built in {@code run()}: two parts that log under one logger (Jersey's database
 * error mapper and {@code DirectGetFilter}'s) count their causes together, and the summaries run on
 * a thread of the application's lifecycle, which stops it with the application.
 */
public final class LogLimiter {

    private final Map<String, RateLimitedLog> logs = new ConcurrentHashMap<>();

    private LogLimiter() {}

    /** The application's: a summary line for each key with unreported repeats, every interval. */
    public static LogLimiter build(Environment environment) {
        LogLimiter limiter = new LogLimiter();
        // One thread, so no %d: the lifecycle names the executor's metrics after it, and "_d_" fails promtool.
        ScheduledExecutorService summaries = environment
                .lifecycle()
                .scheduledExecutorService("fortress-log-summaries", true)
                .threads(1)
                .build();
        long interval = RateLimitedLog.INTERVAL.toNanos();
        summaries.scheduleWithFixedDelay(limiter::flush, interval, interval, TimeUnit.NANOSECONDS);
        return limiter;
    }

    /**
     * For a command that runs once and stops, and for tests: no summary lines; a repeat is still
     * counted into the next line of its key.
     */
    public static LogLimiter withoutSummaries() {
        return new LogLimiter();
    }

    /** The limited WARN log of {@code log}: the same one for every caller that asks with that logger. */
    public RateLimitedLog warn(Logger log) {
        return logs.computeIfAbsent(
                log.getName(), name -> new RateLimitedLog(log, RateLimitedLog.INTERVAL, System::nanoTime));
    }

    void flush() {
        logs.values().forEach(RateLimitedLog::flush);
    }
}
