package dev.fortress.db;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.container.DynamicFeature;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.FeatureContext;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds {@code X-Consistency-Token: <writer WAL position>} to every successful answer of a route
 * marked {@link IssuesConsistencyToken}. The position is read after the route returned, so after
 * its commit: a reader that has replayed past it has seen the write. A route that already read it
 * after its commit ({@link WriterPosition#afterCommit}, as the stats cache's invalidation does) sends
 * that one instead of asking the writer again.
 */
public final class ConsistencyTokenFeature implements DynamicFeature {

    public static final String HEADER = "X-Consistency-Token";
    private static final Logger LOG = LoggerFactory.getLogger(ConsistencyTokenFeature.class);

    private final Jdbi writer;
    private final WriterPosition position;
    /** A saturated or unreachable writer fails this for every write: once per cause per interval. */
    private final RateLimitedLog noTokenLog;

    /** @param position told each token issued: a position the writer has reached */
    ConsistencyTokenFeature(Jdbi writer, WriterPosition position, LogLimiter logs) {
        this.writer = writer;
        this.position = position;
        this.noTokenLog = logs.warn(LOG);
    }

    @Override
    public void configure(ResourceInfo resourceInfo, FeatureContext context) {
        if (resourceInfo.getResourceMethod().isAnnotationPresent(IssuesConsistencyToken.class)) {
            context.register((ContainerRequestFilter) request -> position.requestStarted());
            context.register((ContainerResponseFilter) this::addToken);
        }
    }

    private void addToken(ContainerRequestContext request, ContainerResponseContext response) {
        ConsistencyToken read = position.requestEnded();
        if (response.getStatus() < 200 || response.getStatus() >= 300) {
            return;
        }
        if (read != null) {
            response.getHeaders().putSingle(HEADER, read.toString());
            return;
        }
        try {
            String lsn = writer.withExtension(ConsistencyTokenDao.class, ConsistencyTokenDao::writerPosition);
            response.getHeaders().putSingle(HEADER, lsn);
            position.observe(ConsistencyToken.parse(lsn).position());
        } catch (RuntimeException e) {
            // The write is committed; without a token the client's next read may simply be stale.
            String cause = "no consistency token [" + SqlStates.cause(e) + "]";
            noTokenLog.warn(
                    cause,
                    "{} for {} {}: {}",
                    cause,
                    request.getMethod(),
                    request.getUriInfo().getPath(),
                    SqlStates.rootMessage(e));
        }
    }
}
