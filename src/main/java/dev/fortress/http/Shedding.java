package dev.fortress.http;

import com.codahale.metrics.Meter;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.QoSHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's {@link QoSHandler} answering as the API does: past {@code edge.maxConcurrentRequests}
 * requests wait at most {@code edge.maxQueueWait} (at most {@code edge.maxQueuedRequests} of them),
 * then get 503 with {@code Retry-After} in the API's error shape, so overload fails in milliseconds
 * instead of queueing in the thread pool's unbounded queue.
 */
final class Shedding extends QoSHandler {

    private final byte[] body;
    private final Meter shed;

    Shedding(EdgeConfiguration edge, JsonErrorHandler errors, Meter shed) {
        this.body = errors.body(503, "The service is over its capacity; retry later");
        this.shed = shed;
        setMaxRequestCount(edge.getMaxConcurrentRequests());
        setMaxSuspendedRequestCount(edge.getMaxQueuedRequests());
        setMaxSuspend(java.time.Duration.ofNanos(edge.getMaxQueueWait().toNanoseconds()));
        setRejectStatusCode(503);
    }

    @Override
    protected void reject(Request request, Response response, Callback callback, int status) {
        unavailable(response, callback);
    }

    /** A request that waited {@code maxQueueWait} for a place: the same 503. */
    @Override
    protected void failSuspended(Request request, Response response, Callback callback, int status, Throwable failure) {
        if (status == 503 && !response.isCommitted()) {
            unavailable(response, callback);
        } else {
            super.failSuspended(request, response, callback, status, failure);
        }
    }

    private void unavailable(Response response, Callback callback) {
        shed.mark();
        JsonErrorHandler.unavailable(response, callback, body, false);
    }
}
