package dev.fortress.http;

import dev.fortress.db.RateLimitedLog;
import dev.fortress.db.SqlStates;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import java.util.concurrent.ThreadLocalRandom;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A database that is down, restarting or saturated answers 503 with {@code Retry-After}, so
 * clients and load balancers back off; so does a statement the server cancelled at the role's
 * {@code statement_timeout} (57014: a lock or a load made it too slow now; counted per pool in
 * {@code dev.fortress.db.<pool>.statement-timeouts}). Anything else from the database is a 500 whose details
 * (SQL, stack) stay in the log under an id the client can quote.
 * <p>
 * An outage gives thousands of 503s a second: they are logged once per cause per interval with a
 * count of the rest ({@link RateLimitedLog}); the response meters count each. Every 500 is logged,
 * with its stack trace: the id the client quotes must lead to its own line.
 */
public final class DatabaseExceptionMapper implements ExceptionMapper<JdbiException> {

    private static final Logger LOG = LoggerFactory.getLogger(DatabaseExceptionMapper.class);
    /** Static, as LOG is: the Jersey mapper and DirectGetFilter's own share one count per cause. */
    static final RateLimitedLog UNAVAILABLE_LOG = RateLimitedLog.warn(LOG);
    static final String RETRY_AFTER_SECONDS = "1";

    @Override
    public Response toResponse(JdbiException error) {
        if (SqlStates.isUnavailable(error)) {
            String cause = "database unavailable [" + SqlStates.cause(error) + "]";
            UNAVAILABLE_LOG.warn(cause, "{}: {}", cause, SqlStates.rootMessage(error));
            return ApiErrors.response(Response.Status.SERVICE_UNAVAILABLE, "database unavailable, retry later")
                    .header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS)
                    .build();
        }
        if (SqlStates.isStatementTimeout(error)) {
            String cause = "statement timeout [" + SqlStates.cause(error) + "]";
            UNAVAILABLE_LOG.warn(cause, "{}: {}", cause, SqlStates.rootMessage(error));
            return ApiErrors.response(Response.Status.SERVICE_UNAVAILABLE,
                            "the database did not answer in time, retry later")
                    .header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS)
                    .build();
        }
        String id = Long.toHexString(ThreadLocalRandom.current().nextLong());
        LOG.error("database error {}", id, error);
        return ApiErrors.response(Response.Status.INTERNAL_SERVER_ERROR,
                "There was an error processing your request. It has been logged (ID " + id + ").")
                .build();
    }
}
