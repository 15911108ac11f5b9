package dev.fortress.db;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.QueryTimeOut;
import org.jdbi.v3.sqlobject.locator.UseClasspathSqlLocator;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** What {@link ReplicaMonitor} measures: {@link #replay()} on the replica, {@link #writerPosition} on the writer. */
public interface ReplicaLagDao {

    /**
     * Where a server's replay stands: {@code replayed} and {@code idle} are null on a primary;
     * {@code seconds} since the last replayed transaction (0 when none was).
     */
    record Replay(boolean standby, String replayed, Boolean idle, double seconds) {}

    @SqlQuery
    @UseClasspathSqlLocator
    @RegisterConstructorMapper(Replay.class)
    @QueryTimeOut(2)
    Replay replay();

    /**
     * The writer's WAL position ({@code 0/3000148}): the replica's lag in bytes is the difference,
     * and consistency tokens are checked against it ({@link WriterPosition}).
     */
    @SqlQuery("select cast(pg_current_wal_lsn() as text)")
    @QueryTimeOut(2)
    String writerPosition();
}
