package dev.fortress.transactions;

import java.sql.Timestamp;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.locator.UseClasspathSqlLocator;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * The rollups of {@code transactions} (changesets 5, 8 and 16-minute-rollups): the deltas its
 * triggers append (per organisation and UTC minute), and the minute, hour, day and month buckets the
 * rollup job moves them into. Writes here run
 * inside a transaction that holds {@link Rollups#LOCK}.
 */
public interface RollupDao {

    /** What one batch moved: deltas deleted, rollup buckets inserted or added to. */
    record Moved(long deltas, long buckets) {}

    /** Waits for, then holds until commit, the rollups' advisory lock (held behind PgBouncer too). */
    @SqlQuery("select 1 from pg_advisory_xact_lock(" + Rollups.LOCK + ")")
    int lock();

    @SqlQuery
    @UseClasspathSqlLocator
    @RegisterConstructorMapper(Moved.class)
    Moved rollUp(@Bind("batch") int batch);

    /**
     * Reclaims the deltas a run deleted and the rollup versions it replaced, so that reads do not
     * step over them (measured: 7,440 dead deltas in a month made its summary 1.9 ms instead of
     * 0.2 ms) whether or not autovacuum runs, or runs soon enough for a table this busy. Outside
     * a transaction (VACUUM refuses one); a table it cannot lock at once is left for next time.
     */
    @SqlUpdate("vacuum (skip_locked) transaction_deltas, transaction_rollups")
    void vacuum();

    /** Seconds since the oldest delta not rolled up was written; 0 when every write is rolled up. */
    @SqlQuery("select coalesce(greatest(0, extract(epoch from clock_timestamp() - min(recorded_at))), 0) "
            + "from transaction_deltas")
    double lagSeconds();

    @SqlUpdate("delete from transaction_rollups where bucket >= :from and bucket < :to")
    int deleteRollups(@Bind("from") Timestamp from, @Bind("to") Timestamp to);

    @SqlUpdate("delete from transaction_deltas where bucket >= :from and bucket < :to")
    int deleteDeltas(@Bind("from") Timestamp from, @Bind("to") Timestamp to);
}
