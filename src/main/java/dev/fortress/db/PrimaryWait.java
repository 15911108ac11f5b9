package dev.fortress.db;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.apache.tomcat.jdbc.pool.DataSourceProxy;

/**
 * The writer's pool as callers borrow from it: one that finds no primary waits for one, up to
 * {@code writerDatabase.primaryWait}, instead of failing at once. During a switchover there is no
 * primary for seconds (8-11 s in the fleet, docs/design/failover.md); without the wait every write of
 * those seconds answered 503 (FleetSwitchoverIT: 9-19 of them), with it they are answered late and the
 * 503s are left to writes already under way. Past the wait (a host lost, no primary for longer) the
 * borrow fails as before: 503 with {@code Retry-After}.
 *
 * <p>At most {@code writerDatabase.primaryWaiters} callers wait at once, the instance's own writers
 * (a key's last use, the replicas' lag, JobRunr's storage) among them; the next fails at once. A
 * request that waits holds a request thread and one of the instance's
 * {@code edge.maxConcurrentRequests}: without a bound, a lost primary under a steady write rate would
 * fill them with writes and shed the reads beside them.
 *
 * <p>Only a borrow is retried: no statement has run on a connection that could not be had, so the
 * retry cannot write twice. Only failures to reach a primary are waited out
 * ({@link SqlStates#isUnreachable}, or a pool with nothing to lend and nothing borrowed: every
 * connection being opened again); a saturated pool fails after its {@code maxWaitForConnection}.
 * A caller already waiting keeps waiting through a pool exhausted by others, until its wait ends:
 * its borrow timed out while the connections opened again were lent to the callers before it
 * (PrimaryWaitEmptiedPoolTest answered 503 so, once in bin/test).
 *
 * <p>A pooled connection that leads to the old primary is found at the borrow only when the pool
 * checks it there, and it checks one last checked over {@code validationInterval} ago (1 s): within
 * that second its write fails instead (25006 on a server that is a standby now, 08P01 from PgBouncer).
 * So once a statement on a writer connection has failed that way ({@link #statementFailed}), every
 * borrow is checked for {@link #CHECK_ALL_FOR}, and the pool's interval is restored afterwards.
 * Checking every borrow always would cost a round trip per write: bench/cluster --validation-compare
 * measured +0.4 to +1.2 round trips per keyed write at 50 ms (2026-12-06-cluster-validation.md).
 *
 * <p>Metrics ({@code dev.fortress.db.writer.primary-wait.*}): {@code waiting} (callers waiting now),
 * {@code held} (borrows that found no primary at first and got one), {@code failed} (borrows that
 * found none within the wait, or at once with a wait of 0), {@code turned-away} (borrows that found
 * no primary while {@code primaryWaiters} others already waited: failed at once, counted in
 * {@code failed} too), {@code checking-every-borrow} (1 while every borrow is checked).
 */
final class PrimaryWait extends PoolInFront {

    /** First pause after a failed attempt; doubled up to {@link #MAX_PAUSE}. */
    private static final Duration FIRST_PAUSE = Duration.ofMillis(50);
    /** An attempt asks each database host of the URL; a few a second per waiting caller is enough. */
    private static final Duration MAX_PAUSE = Duration.ofMillis(400);

    /** After a statement failed for want of the primary: a failover or switchover lasts seconds. */
    static final Duration CHECK_ALL_FOR = Duration.ofSeconds(30);

    /**
     * The pool itself: its live settings (tomcat-jdbc reads validationInterval at each check), and how
     * many of its connections are borrowed when a borrow timed out.
     */
    private final DataSourceProxy pooled;

    private final long normalInterval;
    private final long checkAllNanos;
    /** System.nanoTime() until which every borrow is checked; 0: as configured. */
    private volatile long checkAllUntil;

    private final long waitNanos;
    private final int maxWaiters;
    private final AtomicInteger waiting = new AtomicInteger();
    private final Meter held;
    private final Meter failed;
    private final Meter turnedAway;

    /**
     * @param pool   what callers borrow from (the pool, or something in front of it)
     * @param pooled the tomcat-jdbc pool itself: its settings, and how many connections are borrowed
     */
    PrimaryWait(
            DataSource pool,
            DataSourceProxy pooled,
            Duration wait,
            int maxWaiters,
            Duration checkAllFor,
            MetricRegistry metrics) {
        super(pool);
        this.maxWaiters = maxWaiters;
        this.pooled = pooled;
        this.normalInterval = pooled.getPoolProperties().getValidationInterval();
        this.checkAllNanos = checkAllFor.toNanos();
        this.waitNanos = wait.toNanos();
        String prefix = MetricRegistry.name("dev.fortress.db", Databases.WRITER, "primary-wait");
        metrics.register(MetricRegistry.name(prefix, "waiting"), (Gauge<Integer>) waiting::get);
        metrics.register(MetricRegistry.name(prefix, "checking-every-borrow"), (Gauge<Integer>)
                () -> checkAllUntil == 0 ? 0 : 1);
        this.held = metrics.meter(MetricRegistry.name(prefix, "held"));
        this.failed = metrics.meter(MetricRegistry.name(prefix, "failed"));
        this.turnedAway = metrics.meter(MetricRegistry.name(prefix, "turned-away"));
    }

    /**
     * A statement on a connection of this pool failed: if for want of the primary, every borrow is
     * checked for the next {@link #CHECK_ALL_FOR} (StatementMetrics calls this for the writer).
     */
    void statementFailed(SQLException error) {
        if (SqlStates.isUnreachable(error)) {
            checkEveryBorrow();
        }
    }

    private synchronized void checkEveryBorrow() {
        long until = System.nanoTime() + checkAllNanos;
        checkAllUntil = until == 0 ? 1 : until;
        pooled.getPoolProperties().setValidationInterval(0); // tomcat-jdbc: 0 checks every borrow
    }

    private synchronized void checkAsConfigured(long until) {
        if (checkAllUntil == until) {
            checkAllUntil = 0;
            pooled.getPoolProperties().setValidationInterval(normalInterval);
        }
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
        long until = checkAllUntil;
        if (until != 0 && System.nanoTime() - until > 0) {
            checkAsConfigured(until);
        }
        try {
            return borrow.get();
        } catch (SQLException first) {
            if (!forWantOfPrimary(first)) {
                throw first;
            }
            return waitForPrimary(borrow, first);
        }
    }

    /**
     * A borrow failed because no primary could be reached: the database refused or could not be
     * reached, or the pool had nothing to lend while none of its connections was borrowed. That last
     * is a pool whose every slot is being opened again after its checks failed (a switchover: "Pool
     * empty ... size:10; busy:0; idle:0" answered a keyed write 503 in FleetSwitchoverIT), not one
     * saturated by callers, which always has some borrowed and fails at once as before.
     */
    private boolean forWantOfPrimary(SQLException error) {
        return SqlStates.isUnreachable(error) || (SqlStates.isPoolExhausted(error) && pooled.getActive() == 0);
    }

    private Connection waitForPrimary(Borrow borrow, SQLException first) throws SQLException {
        if (waitNanos == 0) {
            failed.mark();
            throw first;
        }
        if (waiting.incrementAndGet() > maxWaiters) {
            waiting.decrementAndGet();
            turnedAway.mark();
            failed.mark();
            throw first;
        }
        long deadline = System.nanoTime() + waitNanos;
        long pause = FIRST_PAUSE.toNanos();
        SQLException last = first;
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
                    // Waiting already: a pool exhausted even with connections borrowed is one whose
                    // primary came back and whose first connections are in use, as the wait was ending.
                    if (!SqlStates.isUnreachable(again) && !SqlStates.isPoolExhausted(again)) {
                        throw again;
                    }
                    last = again;
                }
            }
        } finally {
            waiting.decrementAndGet();
        }
    }
}
