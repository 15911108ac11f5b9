package dev.fortress.users;

import dev.fortress.db.Databases;
import java.util.function.LongConsumer;

/** Builds the users feature: reads on the replica (lag-aware), writes on the writer. */
public final class Users {

    private Users() {
    }

    /** @param orgChanged told, after a user is committed, which org gained it (the stats cache invalidates it) */
    public static UsersResource resource(Databases databases, LongConsumer orgChanged) {
        return new UsersResource(
                databases.reads(UserReadDao.class),
                databases.writer().onDemand(UserWriteDao.class),
                orgChanged);
    }
}
