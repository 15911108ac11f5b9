package dev.fortress.transactions;

import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.GetGeneratedKeys;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * Transactions. Every read binds {@code created_at} bounds as parameters, so the planner prunes
 * partitions at plan time (custom plans) or at execution time (the generic plan of the
 * server-prepared statement: "Subplans Removed").
 */
@RegisterRowMapper(TransactionDao.Mapper.class)
public interface TransactionDao {

    /** count and sum of a window; sum is exact (numeric) and "0.00" for none. */
    record Summary(long count, BigDecimal sum) {}

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

    @SqlQuery("select id, user_id, amount, created_at from transactions "
            + "where org_id = :orgId and created_at >= :from and created_at < :to "
            + "order by created_at desc, id desc limit :limit")
    List<Transaction> list(
            @Bind("orgId") long orgId,
            @Bind("from") Timestamp from,
            @Bind("to") Timestamp to,
            @Bind("limit") int limit);

    @SqlQuery("select id, user_id, amount, created_at from transactions "
            + "where org_id = :orgId and user_id = :userId and created_at >= :from and created_at < :to "
            + "order by created_at desc, id desc limit :limit")
    List<Transaction> listForUser(
            @Bind("orgId") long orgId,
            @Bind("userId") long userId,
            @Bind("from") Timestamp from,
            @Bind("to") Timestamp to,
            @Bind("limit") int limit);

    final class Mapper implements RowMapper<Transaction> {
        @Override
        public Transaction map(ResultSet rs, StatementContext ctx) throws SQLException {
            return Transaction.of(
                    rs.getLong("id"),
                    rs.getLong("user_id"),
                    rs.getBigDecimal("amount"),
                    rs.getTimestamp("created_at").toInstant());
        }
    }

    final class SummaryMapper implements RowMapper<Summary> {
        @Override
        public Summary map(ResultSet rs, StatementContext ctx) throws SQLException {
            return new Summary(rs.getLong("count"), rs.getBigDecimal("sum"));
        }
    }

    static Timestamp at(Instant instant) {
        return Timestamp.from(instant);
    }
}
