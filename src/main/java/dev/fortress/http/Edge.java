package dev.fortress.http;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.auth.Access;
import io.dropwizard.core.setup.Environment;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.EagerContentHandler;
import org.eclipse.jetty.util.component.LifeCycle;

/**
 * The walls of the application port against clients that hold it without using it, or ask more of it
 * than it can do (config.yml {@code edge:}), installed on the server as it starts, in front of every
 * handler Dropwizard built:
 * <ol>
 *   <li>at most {@code maxConnections} connections ({@link NetworkConnectionLimit}: past it Jetty
 *       stops accepting), at most {@code maxConnectionsPerAddress} from one address, and a deadline for
 *       headers and a minimum data rate for bodies and unread responses ({@link SlowClients});</li>
 *   <li>a body of up to {@code bodyReadAhead} is read without a thread before any resource runs
 *       (Jetty's {@link EagerContentHandler}): a body sent a byte at a time waits in the selector,
 *       not in a request thread's blocking read. Not uploads ({@code /imports}): their resource
 *       refuses them on their headers, and bounds how many stream at once;</li>
 *   <li>at most {@code maxPipelinedRequests} requests in a row sent ahead of their answers on one
 *       connection, then 503 and the connection closed ({@link PipelineBound});</li>
 *   <li>at most {@code maxConcurrentRequests} requests handled at once, the rest waiting briefly
 *       and then shed with 503 ({@link Shedding}); readiness is never shed.</li>
 *   <li>before all of these, a key still over its rate gets its 429 {@code refusalDelay} late,
 *       without a thread ({@link RefusedKeys}).</li>
 * </ol>
 */
public final class Edge {

    /** Dropwizard's name for the application connector (the admin one is "admin"). */
    static final String APPLICATION = "application";

    private Edge() {}

    /**
     * @param refusedKeys the 429 of a request whose {@code Authorization} header is a key still over
     *                    its rate, or null ({@link Access#refusedAtEdge})
     */
    public static void register(
            EdgeConfiguration edge, Environment environment, Function<String, Access.RateRefusal> refusedKeys) {
        MetricRegistry metrics = environment.metrics();
        SlowClients slowClients = new SlowClients(edge, metrics);
        JsonErrorHandler errors = new JsonErrorHandler(environment.getObjectMapper());
        Shedding shedding = new Shedding(edge, errors, metrics.meter("dev.fortress.edge.shed"));
        metrics.register("dev.fortress.edge.waiting", (Gauge<Integer>) shedding::getSuspendedRequestCount);
        ScheduledExecutorService sweeper = environment
                .lifecycle()
                .scheduledExecutorService("edge-sweep")
                .threads(1)
                .build();
        environment.lifecycle().addEventListener(new LifeCycle.Listener() {
            @Override
            public void lifeCycleStarting(LifeCycle event) {
                if (event instanceof Server server) {
                    install(edge, server, slowClients, shedding, errors, sweeper, metrics, refusedKeys);
                }
            }
        });
    }

    /** The body's declared length: -1 when chunked or absent, past any bound when unreadable. */
    private static long declared(Request request) {
        try {
            return request.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
        } catch (NumberFormatException unreadable) {
            return Long.MAX_VALUE;
        }
    }

    private static void install(
            EdgeConfiguration edge,
            Server server,
            SlowClients slowClients,
            Shedding shedding,
            JsonErrorHandler errors,
            ScheduledExecutorService sweeper,
            MetricRegistry metrics,
            Function<String, Access.RateRefusal> refusedKeys) {
        List<Connector> application = java.util.Arrays.stream(server.getConnectors())
                .filter(c -> APPLICATION.equals(c.getName()))
                .toList();
        if (application.isEmpty()) {
            return;
        }
        NetworkConnectionLimit limit =
                new NetworkConnectionLimit(edge.getMaxConnections(), application.toArray(Connector[]::new));
        server.addBean(limit);
        metrics.register("dev.fortress.edge.connections", (Gauge<Integer>) limit::getNetworkConnectionCount);
        for (Connector connector : application) {
            connector.addEventListener(slowClients);
            sweeper.scheduleWithFixedDelay(() -> slowClients.sweep(connector), 1, 1, TimeUnit.SECONDS);
        }

        Predicate<Request> onApplicationPort =
                r -> APPLICATION.equals(r.getConnectionMetaData().getConnector().getName());
        EagerContentHandler readAhead =
                new EagerContentHandler(new ReadAhead(edge.getBodyReadAhead().toBytes()));
        long readAheadBytes = edge.getBodyReadAhead().toBytes();
        // A body declared larger than the read-ahead goes to its resource at once: one over its route's
        // limit is refused there on its Content-Length (413) without waiting for bytes that may never come.
        readAhead.include(onApplicationPort.and(r -> declared(r) <= readAheadBytes));
        // An upload is streamed to its spool by the resource, which refuses it on its headers alone
        // (429, 503, 415) before reading any of its body: it must reach the resource at once.
        readAhead.excludePath("/imports");
        shedding.include(onApplicationPort);
        shedding.excludePath("/health-check");
        shedding.setHandler(server.getHandler());
        PipelineBound pipelineBound = new PipelineBound(
                edge.getMaxPipelinedRequests(), errors, metrics.meter("dev.fortress.edge.closed.pipelining"));
        pipelineBound.setHandler(shedding);
        readAhead.setHandler(pipelineBound);
        // First: a key still over its rate is answered before its body is read or a place is taken.
        RefusedKeys refused = new RefusedKeys(
                onApplicationPort,
                refusedKeys,
                edge.getRefusalDelay().toMilliseconds(),
                edge.getMaxDelayedRefusals(),
                errors,
                metrics.meter("dev.fortress.edge.refused-keys"));
        refused.setHandler(readAhead);
        server.setHandler(refused);
    }
}
