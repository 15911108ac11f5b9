package dev.fortress.transactions;

import dev.fortress.idempotency.IdempotentWrites;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.GetGeneratedKeys;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** Writes to transactions, bound to the writer datasource; reads are {@link TransactionReadDao}'s. */
@RegisterRowMapper(TransactionReadDao.Mapper.class)
public interface TransactionWriteDao {

    /**
     * {@link #insert} as a write with an Idempotency-Key runs it ({@code IdempotentWrites.keyedInsert}):
     * the same row from {@code claimed}, returning the {@link Transaction} as JSON and no Location.
     * Its parameters: amount, createdAt, userId, orgId.
     */
    String INSERT_CLAIMED = "insert into transactions (user_id, org_id, amount, created_at) "
            + "select u.id, u.org_id, ?, ? from users u, claimed where u.id = ? and u.org_id = ? "
            + "returning json_build_object('id', id, 'userId', user_id, 'amount', amount, 'createdAt', created_at), "
            + "cast(null as text)";

    /**
     * The keyed write of {@link #insert} ({@code IdempotentWrites.write} runs it): {@link #INSERT_CLAIMED}
     * in the statement that claims the key and stores the answer, timed as {@code TransactionWriteDao.insertWithKey}.
     */
    static IdempotentWrites.KeyedInsert<Transaction> insertWithKey(IdempotentWrites writes) {
        return writes.keyedInsert("TransactionWriteDao.insertWithKey", INSERT_CLAIMED, Transaction.class, 201);
    }

    /**
     * A transaction of user {@code userId}, carrying the user's organisation, if that is
     * {@code orgId}: empty (nothing written) for a user that does not exist or is another
     * organisation's. The look-up is the one the foreign key makes anyway.
     */
    @SqlUpdate("insert into transactions (user_id, org_id, amount, created_at) "
            + "select id, org_id, :amount, :createdAt from users where id = :userId and org_id = :orgId")
    @GetGeneratedKeys({"id", "user_id", "amount", "created_at"})
    Optional<Transaction> insert(
            @Bind("orgId") long orgId,
            @Bind("userId") long userId,
            @Bind("amount") BigDecimal amount,
            @Bind("createdAt") Timestamp createdAt);

    /** Whether user {@code userId} exists in any organisation: only asked after a refused insert, for its count. */
    @SqlQuery("select exists (select 1 from users where id = :userId)")
    boolean userExists(@Bind("userId") long userId);
}
