package dev.fortress.db;

import io.dropwizard.util.Duration;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/**
 * A {@code statement_timeout} other than the role's (changeset 15: 5 s) for the rest of the current
 * transaction, for the few statements that need more: rollup batches, partition maintenance, seeding.
 * {@code set_config(..., true)} is {@code SET LOCAL} with a bound value (SET takes no parameters); it
 * ends with the transaction, so it never leaks into the pool's connection or, through PgBouncer in
 * transaction mode, into another client's.
 */
public interface StatementTimeoutDao {

    @SqlQuery("select set_config('statement_timeout', :timeout, true)")
    String setLocal(@Bind("timeout") String timeout);

    /** This transaction's statements may each run {@code timeout} (0: without limit). */
    default void extendTo(Duration timeout) {
        setLocal(timeout.toMilliseconds() + "ms");
    }
}
