package dev.fortress.db;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.QueryTimeOut;
import org.jdbi.v3.sqlobject.locator.UseClasspathSqlLocator;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** What {@link ReplicaMonitor} measures: {@link #replay()} on the replica, {@link #bytesBehind} on the writer. */
public interface ReplicaLagDao {

    /**
     * Where a server's replay stands: {@code replayed} and {@code idle} are null on a primary;
     * {@code seconds} since the last replayed transaction (0 when none was).
     */
    record Replay(boolean standby, String replayed, Boolean idle, double seconds) {
    }

    @SqlQuery
    @UseClasspathSqlLocator
    @RegisterConstructorMapper(Replay.class)
    @QueryTimeOut(2)
    Replay replay();

    /** WAL bytes the writer has written past {@code lsn} (a replica's replay position); null for a null lsn. */
    @SqlQuery("select cast(pg_wal_lsn_diff(pg_current_wal_lsn(), cast(:lsn as pg_lsn)) as bigint)")
    @QueryTimeOut(2)
    Long bytesBehind(@Bind("lsn") String lsn);
}
