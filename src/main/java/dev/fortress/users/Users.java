package dev.fortress.users;

import dev.fortress.db.Databases;

/** Builds the users feature: reads on the reader, writes on the writer. */
public final class Users {

    private Users() {
    }

    public static UsersResource resource(Databases databases) {
        return new UsersResource(
                databases.reader().onDemand(UserReadDao.class),
                databases.writer().onDemand(UserWriteDao.class));
    }
}
