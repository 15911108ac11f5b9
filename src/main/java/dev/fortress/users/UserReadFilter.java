package dev.fortress.users;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import dev.fortress.db.ConsistencyTokenFeature;
import dev.fortress.db.DatabaseExceptionMapper;
import dev.fortress.ops.PathIds;
import io.dropwizard.jersey.errors.ErrorMessage;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.JdbiException;

/**
 * GET /users/{id}, the hottest route, answered in a servlet filter in front of Jersey. Jersey's
 * per-request machinery (request scope, routing, parameter injection, entity providers, event
 * listeners) cost about a fifth of this route's CPU (bench/results/2026-12-01-cost.md, with its
 * flame graphs); the answer does not need it. Everything else about the route stays the same and
 * in the same places: the read goes through {@link UsersResource#find} (replica routing,
 * consistency tokens, the writer fallback, the SQL object's statement metrics), the body is the
 * same JSON from the application's ObjectMapper, errors keep their shape ({@code ApiErrors},
 * {@link DatabaseExceptionMapper}), and the route's Jersey metrics
 * ({@code dev.fortress.users.UsersResource.get}, {@code .total}, {@code .request.filtering},
 * {@code .response.filtering}, {@code .get.<N>xx-responses}) are updated as Jersey would.
 * <p>
 * Anything this filter is not sure of goes on to Jersey unchanged: another method or path, an
 * encoded or parameterised segment, an {@code Accept} that does not take JSON, or an error that
 * is not the database's (Jersey then answers it, logging it under an id).
 */
final class UserReadFilter implements Filter {

    private static final String PREFIX = "/users/";
    private static final String JSON = "application/json";

    private final UsersResource resource;
    private final ObjectWriter users;
    private final ObjectWriter errors;
    private final DatabaseExceptionMapper databaseErrors = new DatabaseExceptionMapper();
    private final Timer method;
    private final Timer total;
    private final Timer requestFiltering;
    private final Timer responseFiltering;
    private final Meter[] responses = new Meter[5];

    UserReadFilter(UsersResource resource, ObjectMapper json, MetricRegistry metrics) {
        this.resource = resource;
        this.users = json.writerFor(User.class);
        this.errors = json.writerFor(ErrorMessage.class);
        String name = MetricRegistry.name(UsersResource.class, "get");
        this.method = metrics.timer(name);
        this.total = metrics.timer(MetricRegistry.name(name, "total"));
        this.requestFiltering = metrics.timer(MetricRegistry.name(name, "request", "filtering"));
        this.responseFiltering = metrics.timer(MetricRegistry.name(name, "response", "filtering"));
        for (int i = 0; i < responses.length; i++) {
            responses[i] = metrics.meter(MetricRegistry.name(name, (i + 1) + "xx-responses"));
        }
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
            throws IOException, ServletException {
        HttpServletRequest request = (HttpServletRequest) req;
        String segment = segment(request);
        if (segment == null) {
            chain.doFilter(req, res);
            return;
        }
        long started = System.nanoTime();
        OptionalLong id = PathIds.parse(segment);
        long lookup = System.nanoTime();
        Response answer;
        try {
            answer = id.isPresent()
                    ? resource.find(id.getAsLong(), request.getHeader(ConsistencyTokenFeature.HEADER))
                    : resource.notAUserId();
        } catch (JdbiException e) {
            answer = databaseErrors.toResponse(e);
        } catch (RuntimeException e) {
            chain.doFilter(req, res); // not the database's: Jersey answers it, in its shape, logged under an id
            return;
        }
        long looked = System.nanoTime();
        write(answer, (HttpServletResponse) res);
        long done = System.nanoTime();
        requestFiltering.update(lookup - started, TimeUnit.NANOSECONDS);
        method.update(looked - lookup, TimeUnit.NANOSECONDS);
        responseFiltering.update(done - looked, TimeUnit.NANOSECONDS);
        total.update(done - started, TimeUnit.NANOSECONDS);
        int status = answer.getStatus() / 100;
        if (status >= 1 && status <= 5) {
            responses[status - 1].mark();
        }
    }

    /** The id segment of a plain {@code GET /users/<segment>} that asks for JSON, or null. */
    private static String segment(HttpServletRequest request) {
        if (!"GET".equals(request.getMethod())) {
            return null;
        }
        String uri = request.getRequestURI(); // raw: nothing decoded, no query string
        if (uri.length() <= PREFIX.length() || !uri.startsWith(PREFIX) || uri.indexOf('/', PREFIX.length()) >= 0
                || uri.indexOf('%') >= 0 || uri.indexOf(';') >= 0) {
            return null;
        }
        String accept = request.getHeader("Accept");
        if (accept != null && !accept.isEmpty() && !accept.contains(JSON) && !accept.contains("*/*")
                && !accept.contains("application/*")) {
            return null;
        }
        return uri.substring(PREFIX.length());
    }

    private void write(Response answer, HttpServletResponse response) throws IOException {
        response.setStatus(answer.getStatus());
        MultivaluedMap<String, Object> headers = answer.getHeaders();
        headers.forEach((header, values) -> {
            if (!"Content-Type".equalsIgnoreCase(header)) {
                for (Object value : values) {
                    response.addHeader(header, String.valueOf(value));
                }
            }
        });
        Object entity = answer.getEntity();
        byte[] body = entity instanceof User user ? users.writeValueAsBytes(user)
                : errors.writeValueAsBytes((ErrorMessage) entity);
        response.setContentType(JSON);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }
}
