package dev.fortress.http;

import dev.fortress.db.LogLimiter;
import dev.fortress.db.RateLimitedLog;
import dev.fortress.db.SqlStates;
import io.dropwizard.jersey.errors.LoggingExceptionMapper;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A database that is down, restarting or saturated answers 503 with {@code Retry-After}, so
 * clients and load balancers back off; so does a statement the server cancelled at the role's
 * {@code statement_timeout} (57014: a lock or a load made it too slow now; counted per pool in
 * {@code dev.fortress.db.<pool>.statement-timeouts}). Anything else from the database is Dropwizard's
 * 500: its details (SQL, stack) stay in the log under an id the client can quote.
 * <p>
 * An outage gives thousands of 503s a second: they are logged once per cause per interval with a
 * count of the rest ({@link RateLimitedLog}); the response meters count each. Every 500 is logged,
 * with its stack trace: the id the client quotes must lead to its own line. One instance serves
 * Jersey and {@code DirectGetFilter}, so both count one cause together.
 */
public final class DatabaseExceptionMapper extends LoggingExceptionMapper<JdbiException> {

    private static final Logger LOG = LoggerFactory.getLogger(DatabaseExceptionMapper.class);
    static final String RETRY_AFTER_SECONDS = "1";

    private final RateLimitedLog unavailableLog;

    public DatabaseExceptionMapper(LogLimiter logs) {
        super(LOG);
        this.unavailableLog = logs.warn(LOG);
    }

    @Override
    public Response toResponse(JdbiException error) {
        if (SqlStates.isUnavailable(error)) {
            String cause = "database unavailable [" + SqlStates.cause(error) + "]";
            unavailableLog.warn(cause, "{}: {}", cause, SqlStates.rootMessage(error));
            return ApiErrors.response(Response.Status.SERVICE_UNAVAILABLE, "database unavailable, retry later")
                    .header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS)
                    .build();
        }
        if (SqlStates.isStatementTimeout(error)) {
            String cause = "statement timeout [" + SqlStates.cause(error) + "]";
            unavailableLog.warn(cause, "{}: {}", cause, SqlStates.rootMessage(error));
            return ApiErrors.response(
                            Response.Status.SERVICE_UNAVAILABLE, "the database did not answer in time, retry later")
                    .header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS)
                    .build();
        }
        return super.toResponse(error);
    }

    @Override
    protected String formatLogMessage(long id, Throwable error) {
        return String.format("database error %016x", id);
    }
}
