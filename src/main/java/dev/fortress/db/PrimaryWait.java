package dev.fortress.db;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * The writer's pool as callers borrow from it: one that finds no primary waits for one, up to
 * {@code writerDatabase.primaryWait}, instead of failing at once. During a switchover there is no
 * primary for 2-3 s; without the wait every write of those seconds answered 503 (FleetSwitchoverIT:
 * 9-19 of them), with it they are answered late and the 503s are left to writes already under way.
 * Past the wait (a host lost, no primary for 10 s and more) the borrow fails as before: 503 with
 * {@code Retry-After}.
 *
 * <p>Only a borrow is retried: no statement has run on a connection that could not be had, so the
 * retry cannot write twice. Only failures to reach a primary are waited out
 * ({@link SqlStates#isUnreachable}); a saturated pool fails after its {@code maxWaitForConnection}.
 *
 * <p>Metrics ({@code dev.fortress.db.writer.primary-wait.*}): {@code waiting} (callers waiting now),
 * {@code held} (borrows that found no primary at first and got one), {@code failed} (borrows that
 * found none within the wait, or at once with a wait of 0).
 */
final class PrimaryWait implements DataSource {

    /** First pause after a failed attempt; doubled up to {@link #MAX_PAUSE}. */
    private static final Duration FIRST_PAUSE = Duration.ofMillis(50);
    /** An attempt asks each database host of the URL; a few a second per waiting caller is enough. */
    private static final Duration MAX_PAUSE = Duration.ofMillis(400);

    private final DataSource pool;
    private final long waitNanos;
    private final AtomicInteger waiting = new AtomicInteger();
    private final Meter held;
    private final Meter failed;

    private PrimaryWait(DataSource pool, Duration wait, MetricRegistry metrics) {
        this.pool = pool;
        this.waitNanos = wait.toNanos();
        String prefix = MetricRegistry.name("dev.fortress.db", Databases.WRITER, "primary-wait");
        metrics.register(MetricRegistry.name(prefix, "waiting"), (Gauge<Integer>) waiting::get);
        this.held = metrics.meter(MetricRegistry.name(prefix, "held"));
        this.failed = metrics.meter(MetricRegistry.name(prefix, "failed"));
    }

    /** {@code pool}, its borrows waiting up to {@code wait} for a primary (zero: failing at once, counted). */
    static DataSource wrap(DataSource pool, Duration wait, MetricRegistry metrics) {
        return new PrimaryWait(pool, wait, metrics);
    }

    @Override
    public Connection getConnection() throws SQLException {
        return borrow(pool::getConnection);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return borrow(() -> pool.getConnection(username, password));
    }

    private interface Borrow {
        Connection get() throws SQLException;
    }

    private Connection borrow(Borrow borrow) throws SQLException {
        try {
            return borrow.get();
        } catch (SQLException first) {
            if (!SqlStates.isUnreachable(first)) {
                throw first;
            }
            return waitForPrimary(borrow, first);
        }
    }

    private Connection waitForPrimary(Borrow borrow, SQLException first) throws SQLException {
        long deadline = System.nanoTime() + waitNanos;
        long pause = FIRST_PAUSE.toNanos();
        SQLException last = first;
        waiting.incrementAndGet();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || Thread.currentThread().isInterrupted()) {
                    failed.mark();
                    throw last;
                }
                LockSupport.parkNanos(Math.min(pause, left));
                pause = Math.min(pause * 2, MAX_PAUSE.toNanos());
                try {
                    Connection connection = borrow.get();
                    held.mark();
                    return connection;
                } catch (SQLException again) {
                    if (!SqlStates.isUnreachable(again)) {
                        throw again;
                    }
                    last = again;
                }
            }
        } finally {
            waiting.decrementAndGet();
        }
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return pool.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        pool.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        pool.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return pool.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return pool.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        return type.isInstance(pool) ? type.cast(pool) : pool.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws SQLException {
        return type.isInstance(pool) || pool.isWrapperFor(type);
    }
}
