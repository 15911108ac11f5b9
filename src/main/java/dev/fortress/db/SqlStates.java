package dev.fortress.db;

import java.sql.SQLException;
import java.util.Set;
import org.jdbi.v3.core.ConnectionException;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/** Reads PostgreSQL's SQLSTATE out of whatever JDBI or the pool wrapped it in. */
public final class SqlStates {

    /** read_only_sql_transaction: a write refused, before it changed anything, by a server that is a standby. */
    public static final String READ_ONLY = "25006";

    /**
     * Server shutting down, crash recovery, too many connections, cannot connect now; and 25006
     * (read_only_sql_transaction): a write that reached a standby, on a connection made while that
     * server was the primary (a failover or a switchover since; the writer pool's validation query drops
     * the connection at its next check).
     */
    private static final Set<String> UNAVAILABLE = Set.of("57P01", "57P02", "57P03", "53300", "53400", READ_ONLY);

    /** query_canceled: statement_timeout, or a cancel request (a driver query timeout). */
    public static final String QUERY_CANCELED = "57014";

    private SqlStates() {}

    /**
     * True when the database could not be reached or refused work: worth a retry, not a bug. A
     * connection that could not be had at all (JDBI's {@link ConnectionException}) is one too, whatever
     * its cause says: the pool's check of a connection it just opened during an outage fails with an
     * SQLException that has no SQLSTATE and no cause (IdempotentRetryFaultTest saw a 500 from it).
     */
    public static boolean isUnavailable(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof ConnectionException) {
                return true;
            }
            if (t instanceof SQLException sql) {
                String state = sql.getSQLState();
                // Class 08: connection exceptions; a pool timeout carries no state at all.
                if (state != null && (state.startsWith("08") || UNAVAILABLE.contains(state))) {
                    return true;
                }
                if (state == null && isPoolTimeout(sql)) {
                    return true;
                }
            }
            if (t instanceof java.net.ConnectException || t instanceof java.net.SocketException) {
                return true;
            }
        }
        return false;
    }

    /** True when the database itself could not be reached or refused work; false for a saturated pool. */
    public static boolean isUnreachable(Throwable error) {
        return isUnavailable(error) && !isPoolExhausted(error);
    }

    /**
     * True when PgBouncer refused to pass a statement on because its logins to the server have been
     * failing (08P01, "server login has been failing ..."): it sends this, and drops the client, only
     * when the client has no server connection of its own (src/objects.c check_fast_fail, from
     * find_server), so in transaction pooling the statement was the first of a transaction and
     * nothing of that transaction reached PostgreSQL. In the fleet it is what a demoted primary's
     * PgBouncer answers while that server restarts as a standby.
     */
    public static boolean isPoolerLoginFailing(Throwable error) {
        SQLException refusal = withState(error, "08P01");
        return refusal != null
                && refusal.getMessage() != null
                && refusal.getMessage().contains("server login has been failing");
    }

    /** True when the pool had no free connection within maxWaitForConnection: saturated, not unreachable. */
    public static boolean isPoolExhausted(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && isPoolTimeout(sql)) {
                return true;
            }
        }
        return false;
    }

    /**
     * True when the server cancelled a statement (57014, query_canceled): it ran past the role's
     * {@code statement_timeout} (lock waits included), or a driver query timeout cancelled it. Either
     * way the database was too slow for it now, not the request wrong: worth a retry later.
     */
    public static boolean isStatementTimeout(Throwable error) {
        return hasState(error, QUERY_CANCELED);
    }

    /** True for a unique violation (23505) of the named constraint or unique index. */
    public static boolean isUniqueViolation(Throwable error, String constraint) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof PSQLException psql && "23505".equals(psql.getSQLState())) {
                ServerErrorMessage detail = psql.getServerErrorMessage();
                return detail != null && constraint.equals(detail.getConstraint());
            }
        }
        return false;
    }

    /** True when some SQLException in the chain carries this SQLSTATE. */
    public static boolean hasState(Throwable error, String state) {
        return withState(error, state) != null;
    }

    /** The first SQLException in the chain that carries this SQLSTATE, or null. */
    private static SQLException withState(Throwable error, String state) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && state.equals(sql.getSQLState())) {
                return sql;
            }
        }
        return null;
    }

    /**
     * The kind of failure without its varying details, for {@link RateLimitedLog} keys: the first
     * SQLSTATE in the chain, if any, and the innermost exception's class ("08001 ConnectException").
     */
    public static String cause(Throwable error) {
        String state = null;
        Throwable root = error;
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (state == null && t instanceof SQLException sql) {
                state = sql.getSQLState();
            }
            root = t;
        }
        return state == null
                ? root.getClass().getSimpleName()
                : state + " " + root.getClass().getSimpleName();
    }

    /** The innermost cause, as "Type: message", for logs and health messages. */
    public static String rootMessage(Throwable error) {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }

    private static boolean isPoolTimeout(SQLException error) {
        return error.getClass().getName().equals("org.apache.tomcat.jdbc.pool.PoolExhaustedException");
    }
}
