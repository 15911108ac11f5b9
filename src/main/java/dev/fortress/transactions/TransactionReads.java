package dev.fortress.transactions;

/**
 * What the transaction routes read, on a replica or the writer: the SQL object's statements and the
 * two summaries, which {@link JdbcTransactionReadDao} runs on plain JDBC.
 */
interface TransactionReads extends TransactionDao {

    /**
     * count and sum of organisation {@code orgId}'s transactions in the window {@code pieces} cut,
     * from raw rows at its ends (under a minute each), rollups and pending deltas between: exact, at a cost that does not
     * grow with the window (TransactionReads/*.sql).
     */
    Summary summary(long orgId, SummaryPieces pieces);

    /** {@link #summary} for a window on whole minutes: no partial minutes at its ends, so no raw rows. */
    Summary summaryAligned(long orgId, SummaryPieces pieces);
}
