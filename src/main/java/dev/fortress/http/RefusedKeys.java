package dev.fortress.http;

import com.codahale.metrics.Meter;
import dev.fortress.auth.Access;
import java.nio.ByteBuffer;
import java.util.function.Function;
import java.util.function.Predicate;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.DoSHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The edge's answer to a key that is over its rate and keeps sending: while its bucket cannot admit
 * (as the rate limiter last learnt from Redis, {@link Access#refusedAtEdge}) its requests get their
 * 429, the same headers and body as the limiter's, before any other handler runs and
 * {@code edge.refusalDelay} late, held by Jetty's {@link DoSHandler.DelayedRejectHandler} without a
 * thread (at most {@code edge.maxDelayedRefusals}; past it the oldest is answered at once). A client
 * that ignores {@code Retry-After} and resends at once then costs a parsed request per connection per
 * delay instead of a Jersey request and a rate-limit check per round trip.
 * <p>
 * Not {@link DoSHandler} itself: its trackers count each instance's requests on their own, where this
 * follows the limit every instance shares through Redis.
 */
final class RefusedKeys extends Handler.Wrapper {

    private static final String REFUSAL = RefusedKeys.class.getName() + ".refusal";

    private final Predicate<Request> applies;
    private final Function<String, Access.RateRefusal> refused;
    private final Handler delayed;
    private final JsonErrorHandler errors;
    private final Meter counted;

    RefusedKeys(
            Predicate<Request> applies,
            Function<String, Access.RateRefusal> refused,
            long delayMillis,
            int maxDelayed,
            JsonErrorHandler errors,
            Meter counted) {
        this.applies = applies;
        this.refused = refused;
        this.errors = errors;
        this.counted = counted;
        this.delayed = new DoSHandler.DelayedRejectHandler(delayMillis, maxDelayed, this::answer);
        installBean(delayed);
    }

    @Override
    public void setServer(Server server) {
        super.setServer(server);
        delayed.setServer(server);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        Access.RateRefusal refusal =
                authorization == null || !applies.test(request) ? null : refused.apply(authorization);
        if (refusal == null) {
            return super.handle(request, response, callback);
        }
        counted.mark();
        request.setAttribute(REFUSAL, refusal);
        return delayed.handle(request, response, callback);
    }

    /** The rate limiter's 429 ({@code RateLimiter}), written by the edge. */
    private boolean answer(Request request, Response response, Callback callback) {
        Access.RateRefusal refusal = (Access.RateRefusal) request.getAttribute(REFUSAL);
        byte[] body = errors.body(429, refusal.message());
        response.setStatus(429);
        response.getHeaders().put(HttpHeader.RETRY_AFTER, refusal.retryAfter());
        response.getHeaders().put("RateLimit-Policy", refusal.policy());
        response.getHeaders().put("RateLimit", refusal.state());
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }
}
