package dev.fortress.transactions;

import java.time.OffsetDateTime;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.locator.UseClasspathSqlLocator;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The statements of {@link TransactionSeeder}. */
public interface TransactionSeedDao {

    @SqlQuery("select exists (select 1 from users)")
    boolean anyUser();

    /** For the rest of the transaction: commit without waiting for the WAL flush. */
    @SqlUpdate("set local synchronous_commit = off")
    void synchronousCommitOff();

    /**
     * For the rest of the transaction: no statement_timeout. Seeding is an operator's one-off bulk
     * load of 200,000-row statements, which the role's 5 s (changeset 15) would cut off on a busy
     * machine; the writer's socketTimeout still bounds each.
     */
    @SqlUpdate("set local statement_timeout = 0")
    void noStatementTimeout();

    /** Transactions {@code first..last} of a run, over the year before {@code now}, for existing users. */
    @SqlUpdate
    @UseClasspathSqlLocator
    int insert(@Bind("now") OffsetDateTime now, @Bind("first") long first, @Bind("last") long last);

    @SqlUpdate("analyze transactions")
    void analyze();
}
