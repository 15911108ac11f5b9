package dev.fortress.imports;

import dev.fortress.db.StatementMetrics;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.jdbi.v3.sqlobject.SqlObject;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.locator.UseClasspathSqlLocator;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;
import org.postgresql.PGConnection;

/**
 * One batch's rows into {@code users}, in the batch's transaction: COPY under a savepoint (the
 * fast path); else the staging table, the insert that skips taken emails, and the lines it
 * refused. The savepoint is three statements here, not JDBI's {@code Handle.savepoint} API: that
 * one bypasses the SQL logger (so is never timed) and forgets a savepoint once rolled back to,
 * so it cannot release it afterwards, which {@link #refused} needs.
 */
public interface ImportBatchDao extends SqlObject {

    /** What {@link #insertStaged} added, per org. */
    record OrgAdded(long orgId, long added) {}

    /** A staged row that was not inserted: its place in the batch (1-based) and its email. */
    record Refused(int pos, String email) {}

    @SqlUpdate("savepoint import_rows")
    void savepoint();

    @SqlUpdate("rollback to savepoint import_rows")
    void rollbackToSavepoint();

    /** After a rollback to it too: back in the top transaction, whose id {@link #refused} compares with xmin. */
    @SqlUpdate("release savepoint import_rows")
    void releaseSavepoint();

    /** The fast path: straight into users at COPY speed, when no row of the batch conflicts. */
    default void copyUsers(byte[] csvRows) {
        copy(getHandle(), "copyUsers", "copy users (email, role, org_id, age) from stdin (format csv)", csvRows);
    }

    /** The slow path's staging table; pos is the row's place in the batch (so, its line order). */
    @SqlUpdate("create temp table import_stage (pos integer generated always as identity, "
            + "email text, role text, org_id bigint, age integer) on commit drop")
    void createStage();

    default void copyStage(byte[] csvRows) {
        copy(getHandle(), "copyStage", "copy import_stage (email, role, org_id, age) from stdin (format csv)", csvRows);
    }

    /** Inserts the staged rows whose email is free, in line order (insertStaged.sql). */
    @SqlQuery
    @UseClasspathSqlLocator
    @RegisterConstructorMapper(OrgAdded.class)
    List<OrgAdded> insertStaged();

    /** The staged rows {@link #insertStaged} skipped (refused.sql). */
    @SqlQuery
    @UseClasspathSqlLocator
    @RegisterConstructorMapper(Refused.class)
    List<Refused> refused();

    /**
     * COPY runs on pgjdbc's CopyManager, which JDBI never sees: timed here under
     * {@code ImportBatchDao.<method>} as JDBI times a SQL-object statement, failed or not, and
     * failing as JDBI's statements fail.
     */
    private static void copy(Handle handle, String method, String copy, byte[] csvRows) {
        StatementMetrics metrics = StatementMetrics.of(handle);
        long started = System.nanoTime();
        try {
            handle.getConnection()
                    .unwrap(PGConnection.class)
                    .getCopyAPI()
                    .copyIn(copy, new ByteArrayInputStream(csvRows));
        } catch (SQLException e) {
            throw new UnableToExecuteStatementException(e, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            metrics.record(ImportBatchDao.class.getSimpleName() + "." + method, System.nanoTime() - started);
        }
    }
}
