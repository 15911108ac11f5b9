package dev.fortress.db;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** The writer's side of {@link ConsistencyToken}s. */
public interface ConsistencyTokenDao {

    /** The writer's current WAL position, as text ({@code 0/3000148}). */
    @SqlQuery("select cast(pg_current_wal_lsn() as text)")
    String writerPosition();

    /**
     * Whether this server has replayed the writer's WAL up to {@code lsn} (a {@link #writerPosition});
     * true on a primary, which has nothing to replay.
     */
    @SqlQuery("select coalesce(pg_last_wal_replay_lsn() >= cast(:lsn as pg_lsn), true)")
    boolean replayedPast(@Bind("lsn") String lsn);
}
