package dev.fortress.users;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.locator.UseClasspathSqlLocator;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The statements of {@link UserSeeder}. */
public interface UserSeedDao {

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

    /** Users {@code first..last} of a run, emails made unique by {@code token}; a clash is skipped. */
    @SqlUpdate
    @UseClasspathSqlLocator
    int insert(
            @Bind("token") String token, @Bind("orgs") long orgs, @Bind("first") long first, @Bind("last") long last);

    @SqlUpdate("analyze users")
    void analyze();
}
