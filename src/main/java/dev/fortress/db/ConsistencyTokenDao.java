package dev.fortress.db;

import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** The writer's side of {@link ConsistencyToken}s. */
public interface ConsistencyTokenDao {

    /** The writer's current WAL position, as text ({@code 0/3000148}). */
    @SqlQuery("select cast(pg_current_wal_lsn() as text)")
    String writerPosition();
}
