package dev.fortress.users;

import dev.fortress.db.SqlStates;
import dev.fortress.idempotency.IdempotentWrites;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.GetGeneratedKeys;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** Writes to users, bound to the writer datasource. */
@RegisterRowMapper(UserMapper.class)
public interface UserWriteDao {

    /** The unique index that makes emails unique in an organisation whatever their case (see migrations/). */
    String UNIQUE_EMAIL = "users_org_email_lower_key";

    /**
     * {@link #insert} as a write with an Idempotency-Key runs it ({@code IdempotentWrites.keyedInsert}):
     * the same row from {@code claimed}, returning the {@link User} as JSON and its Location. Its
     * parameters: email, role, orgId, age, then the Location without the id ({@code /users/}).
     */
    String INSERT_CLAIMED = "insert into users (email, role, org_id, age) select ?, ?, ?, ? from claimed "
            + "returning json_build_object('id', id, 'email', email, 'role', role, 'orgId', org_id, 'age', age), "
            + "? || id";

    /**
     * The keyed write of {@link #insert} ({@code IdempotentWrites.write} runs it): {@link #INSERT_CLAIMED}
     * in the statement that claims the key and stores the answer, timed as {@code UserWriteDao.insertWithKey}.
     */
    static IdempotentWrites.KeyedInsert<User> insertWithKey(IdempotentWrites writes) {
        return writes.keyedInsert("UserWriteDao.insertWithKey", INSERT_CLAIMED, User.class, 201);
    }

    @SqlUpdate("insert into users (email, role, org_id, age) values (:email, :role, :orgId, :age)")
    @GetGeneratedKeys({"id", "email", "role", "org_id", "age"})
    User insert(@BindMethods NewUser user);

    /**
     * Inserts the user; an email already present in its organisation, in any case, is a
     * {@link DuplicateEmailException}.
     */
    default User create(NewUser user) {
        try {
            return insert(user);
        } catch (UnableToExecuteStatementException e) {
            throw failure(e, user);
        }
    }

    /** A failed insert of {@code user}: a {@link DuplicateEmailException} for the unique email, else {@code e}. */
    static RuntimeException failure(UnableToExecuteStatementException e, NewUser user) {
        return SqlStates.isUniqueViolation(e, UNIQUE_EMAIL) ? new DuplicateEmailException(user.email()) : e;
    }
}
