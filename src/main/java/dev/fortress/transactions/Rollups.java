package dev.fortress.transactions;

import com.codahale.metrics.Meter;
import dev.fortress.db.StatementTimeoutDao;
import io.dropwizard.util.Duration;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves the deltas that writes to {@code transactions} leave (one row per statement, organisation and minute, by
 * trigger) into minute, hour, day and month rollups, so that a summary reads a few rows whatever its
 * range. Each batch is one writer transaction under a transaction-scoped advisory lock (which also
 * holds behind PgBouncer in transaction mode): it deletes the oldest deltas and adds them to their
 * buckets, so a reader's snapshot sees each write exactly once, as a delta or inside a rollup.
 * Only this job writes rollup rows, so writers never wait on one; retention takes the same lock to
 * delete a retired month's rows. After a run that moved deltas it vacuums both tables, which
 * churn too fast to wait for autovacuum. Safe to run twice or from several instances at once: a second run
 * waits for the lock, then finds what the first left.
 */
public final class Rollups {

    private static final Logger LOG = LoggerFactory.getLogger(Rollups.class);

    /** Arbitrary, fixed: the advisory lock key of the rollups ("rollup"). */
    static final long LOCK = 0x726f6c6c7570L;
    /** Deltas per transaction: bounds a batch's locks, WAL and time after an outage of the job. */
    static final int BATCH = 50_000;
    /** Batches per run; the next run goes on from there. */
    static final int MAX_BATCHES = 100;

    /** What a run did. */
    public record Report(long deltas, long buckets, int transactions) {
        public String summary() {
            return String.format(
                    "rolled up %d deltas into %d buckets in %d transaction(s)", deltas, buckets, transactions);
        }
    }

    private final Jdbi writer;
    private final int batch;
    private final Meter runs;
    private final Meter deltasRolledUp;
    private final Duration statementTimeout;

    /**
     * @param runs           marked once per run
     * @param deltasRolledUp marked with the deltas each committed batch moved
     * @param statementTimeout each batch's statement_timeout (transactions.jobStatementTimeout): a batch
     *                       after an outage of the job, or a wait for another instance's batch (the
     *                       advisory lock), outlasts a request's; null keeps the role's
     */
    public Rollups(Jdbi writer, int batch, Meter runs, Meter deltasRolledUp, Duration statementTimeout) {
        this.writer = writer;
        this.batch = batch;
        this.runs = runs;
        this.deltasRolledUp = deltasRolledUp;
        this.statementTimeout = statementTimeout;
    }

    /** Rolls up every delta committed before it started (and any that come meanwhile, up to MAX_BATCHES). */
    public Report run() {
        long deltas = 0;
        long buckets = 0;
        int transactions = 0;
        RollupDao.Moved moved;
        do {
            moved = writer.inTransaction(h -> {
                if (statementTimeout != null) {
                    h.attach(StatementTimeoutDao.class).extendTo(statementTimeout);
                }
                RollupDao dao = h.attach(RollupDao.class);
                dao.lock();
                return dao.rollUp(batch);
            });
            deltasRolledUp.mark(moved.deltas());
            deltas += moved.deltas();
            buckets += moved.buckets();
            transactions++;
        } while (moved.deltas() == batch && transactions < MAX_BATCHES);
        if (deltas > 0) {
            vacuum();
        }
        runs.mark();
        return new Report(deltas, buckets, transactions);
    }

    /** The rollup has committed: a failed clean-up only leaves work for the next run, it fails nothing. */
    private void vacuum() {
        try {
            writer.useExtension(RollupDao.class, RollupDao::vacuum);
        } catch (RuntimeException e) {
            LOG.warn(
                    "vacuum of transaction_deltas and transaction_rollups failed (the next run tries again): {}",
                    e.toString());
        }
    }

    /** Seconds since the oldest write not rolled up yet; 0 when none waits. */
    public double lagSeconds() {
        return writer.withExtension(RollupDao.class, RollupDao::lagSeconds);
    }
}
