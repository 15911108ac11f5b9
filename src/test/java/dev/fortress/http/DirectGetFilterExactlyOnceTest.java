package dev.fortress.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.auth.Access;
import dev.fortress.auth.Caller;
import dev.fortress.db.LogLimiter;
import dev.fortress.testing.Http;
import io.dropwizard.jackson.Jackson;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.ws.rs.core.Response;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.jdbi.v3.core.ConnectionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A request DirectGetFilter takes is answered by it exactly once, whatever the route throws: never
 * handed on to the rest of the chain (Jersey, which would run the resource method a second time).
 * On a real Jetty, with a servlet behind the filter in Jersey's place that counts what reaches it.
 */
class DirectGetFilterExactlyOnceTest {

    private final AtomicInteger routeRuns = new AtomicInteger();
    private final AtomicInteger handedOn = new AtomicInteger();
    private Server server;

    private Http serve(DirectGetFilter.Route route) throws Exception {
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        Caller caller = new Caller(1, 7, Set.of("read"), "fk_test", null);
        DirectGetFilter filter = new DirectGetFilter(
                "/things/",
                "",
                "things.get",
                route,
                (authorization, address, scope, family) -> new Access.Allowed(caller),
                "read",
                "things",
                Jackson.newObjectMapper(),
                new DatabaseExceptionMapper(LogLimiter.withoutSummaries()),
                new MetricRegistry());
        context.addFilter(new FilterHolder(filter), "/things/*", EnumSet.of(DispatcherType.REQUEST));
        context.addServlet(
                new ServletHolder(new HttpServlet() {
                    @Override
                    protected void service(HttpServletRequest request, HttpServletResponse response) {
                        handedOn.incrementAndGet();
                        response.setStatus(299);
                    }
                }),
                "/*");
        server.setHandler(context);
        server.start();
        return new Http("127.0.0.1", connector.getLocalPort());
    }

    @AfterEach
    void stop() throws Exception {
        server.stop();
    }

    @Test
    void anErrorThatIsNotTheDatabasesIsA500InTheApiShapeAnsweredOnce() throws Exception {
        Http api = serve((caller, segment, request) -> {
            routeRuns.incrementAndGet();
            throw new IllegalStateException("a bug in the route");
        });

        HttpResponse<String> answer = api.get("/things/5");

        assertThat(answer.statusCode()).isEqualTo(500);
        assertThat(answer.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(Http.json(answer)).containsEntry("code", 500);
        assertThat((String) Http.json(answer).get("message"))
                .matches("There was an error processing your request\\. It has been logged \\(ID [0-9a-f]{16}\\)\\.")
                .doesNotContain("a bug in the route");
        assertThat(routeRuns).as("the route ran once").hasValue(1);
        assertThat(handedOn).as("nothing reached Jersey's place").hasValue(0);
    }

    @Test
    void aDatabaseOutageIsA503WithRetryAfterAnsweredOnce() throws Exception {
        Http api = serve((caller, segment, request) -> {
            routeRuns.incrementAndGet();
            throw new ConnectionException(new SQLException("connection refused", "08001"));
        });

        HttpResponse<String> answer = api.get("/things/5");

        assertThat(answer.statusCode()).isEqualTo(503);
        assertThat(answer.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(Http.json(answer)).isEqualTo(Map.of("code", 503, "message", "database unavailable, retry later"));
        assertThat(routeRuns).hasValue(1);
        assertThat(handedOn).hasValue(0);
    }

    @Test
    void whatTheFilterDoesNotTakeGoesOnBeforeTheRouteRuns() throws Exception {
        Http api = serve((caller, segment, request) -> {
            routeRuns.incrementAndGet();
            return Response.ok(Map.of("segment", segment)).build();
        });

        assertThat(api.get("/things/5").body()).isEqualTo("{\"segment\":\"5\"}");
        for (String accept : new String[] {"application/json;q=0", "text/plain", "application/json, text/html"}) {
            HttpResponse<String> answer = api.send(
                    java.net.http.HttpRequest.newBuilder(api.uri("/things/5")).header("Accept", accept));
            assertThat(answer.statusCode()).as("Accept: " + accept + " goes on").isEqualTo(299);
        }
        assertThat(api.get("/things/5/more").statusCode()).isEqualTo(299);
        assertThat(api.get("/things/%35").statusCode()).isEqualTo(299);

        assertThat(routeRuns).as("only the one plain request ran the route").hasValue(1);
        assertThat(handedOn).hasValue(5);
    }
}
