package dev.fortress.users;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.locator.UseClasspathSqlLocator;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The statements of {@link UserSeeder}. */
public interface UserSeedDao {

    /** For the rest of the transaction: commit without waiting for the WAL flush. */
    @SqlUpdate("set local synchronous_commit = off")
    void synchronousCommitOff();

    /** Users {@code first..last} of a run, emails made unique by {@code token}; a clash is skipped. */
    @SqlUpdate
    @UseClasspathSqlLocator
    int insert(@Bind("token") String token, @Bind("orgs") long orgs, @Bind("first") long first,
               @Bind("last") long last);

    @SqlUpdate("analyze users")
    void analyze();
}
