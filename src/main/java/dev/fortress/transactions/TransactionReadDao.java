package dev.fortress.transactions;

import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;
import org.jdbi.v3.core.locator.ClasspathSqlLocator;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.sqlobject.SqlObject;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/**
 * What the transaction routes read, on a replica or the writer; writes are
 * {@link TransactionWriteDao}'s. Every read binds {@code created_at} bounds as parameters, so the
 * planner prunes partitions at plan time (custom plans) or at execution time (the generic plan of
 * the server-prepared statement: "Subplans Removed"). {@link JdbcTransactionReadDao} runs the two
 * summaries on plain JDBC, the same texts ({@link #SUMMARY}, {@link #SUMMARY_ALIGNED}) under the same
 * names; TransactionReadDaoContractTest holds both implementations to the same answers.
 */
@RegisterRowMapper(TransactionReadDao.Mapper.class)
public interface TransactionReadDao extends SqlObject {

    /** count and sum of a window; sum is exact (numeric) and "0.00" for none. */
    record Summary(long count, BigDecimal sum) {}

    /**
     * {@link #summary}'s text: raw rows at the window's partial-minute ends (TransactionReadDao/rows.sql),
     * then deltas and rollups (rollups.sql), added up in one statement. Named parameters: {@code :orgId}
     * and {@code :p.<piece>.<from|to>}, the {@link SummaryPieces} bound as {@code p}.
     */
    String SUMMARY = summaryOf("rows", "rollups");

    /** {@link #summaryAligned}'s text: rollups.sql alone. */
    String SUMMARY_ALIGNED = summaryOf("rollups");

    /**
     * count and sum of organisation {@code orgId}'s transactions in the window {@code pieces} cut,
     * from raw rows at its ends (under a minute each), rollups and pending deltas between: exact, at a
     * cost that does not grow with the window.
     */
    default Summary summary(long orgId, SummaryPieces pieces) {
        return summaryBy(SUMMARY, orgId, pieces);
    }

    /** {@link #summary} for a window on whole minutes: no partial minutes at its ends, so no raw rows. */
    default Summary summaryAligned(long orgId, SummaryPieces pieces) {
        return summaryBy(SUMMARY_ALIGNED, orgId, pieces);
    }

    /** {@code text} with JDBI's own binding of the pieces' nested names; timed as the method that called it. */
    private Summary summaryBy(String text, long orgId, SummaryPieces pieces) {
        return getHandle()
                .createQuery(text)
                .bind("orgId", orgId)
                .bindMethods("p", pieces)
                .map(new SummaryMapper())
                .one();
    }

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

    /** {@code select <count and sum> from (<pieces, union all>) pieces}, each piece TransactionReadDao/<piece>.sql. */
    private static String summaryOf(String... pieces) {
        ClasspathSqlLocator files = ClasspathSqlLocator.removingComments();
        StringBuilder union = new StringBuilder();
        for (String piece : pieces) {
            union.append(union.isEmpty() ? "" : "union all\n")
                    .append(files.locate(TransactionReadDao.class, piece).strip())
                    .append('\n');
        }
        return "select cast(coalesce(sum(count), 0) as bigint) as count, coalesce(sum(sum), 0) as sum from (\n" + union
                + ") pieces";
    }
}
