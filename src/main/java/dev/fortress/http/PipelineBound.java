package dev.fortress.http;

import com.codahale.metrics.Meter;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.Callback;

/**
 * At most {@code edge.maxPipelinedRequests} requests in a row that a connection sent before it had
 * its answers; the next one gets 503 and the connection is closed, with whatever it sent ahead.
 * <p>
 * Jetty handles a connection's requests one after another, but serves all that were sent: 200
 * connections that each wrote 2,000 {@code GET /users/{id}} and read nothing were 400,000 requests
 * of work (their answers fit the sockets' buffers), and the polite load beside them fell to 15%
 * (bench/hostile). A request without a body that starts while more bytes already wait behind it
 * was sent ahead of its predecessor's answer; clients that wait for each answer never do that, and
 * a request with a body (read ahead or not) neither counts nor resets the count.
 */
final class PipelineBound extends Handler.Wrapper {

    private static final String AHEAD = PipelineBound.class.getName() + ".ahead";

    private final byte[] body;
    private final int max;
    private final Meter closed;

    PipelineBound(int max, JsonErrorHandler errors, Meter closed) {
        this.body = errors.body(503, "Too many requests sent ahead of their answers on one connection");
        this.max = max;
        this.closed = closed;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        if (request.getConnectionMetaData() instanceof HttpConnection connection && !hasBody(request)) {
            int ahead = connection.isRequestBufferEmpty() ? 0 : aheadOf(connection) + 1;
            connection.setAttribute(AHEAD, ahead);
            if (ahead > max) {
                closed.mark();
                JsonErrorHandler.unavailable(response, callback, body, true);
                return true;
            }
        }
        return super.handle(request, response, callback);
    }

    private static int aheadOf(HttpConnection connection) {
        return connection.getAttribute(AHEAD) instanceof Integer ahead ? ahead : 0;
    }

    private static boolean hasBody(Request request) {
        return request.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH) > 0
                || request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
    }
}
