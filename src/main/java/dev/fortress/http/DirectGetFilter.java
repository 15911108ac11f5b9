package dev.fortress.http;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.core.setup.Environment;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.util.EnumSet;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.JdbiException;

/**
 * One hot GET route answered in a servlet filter in front of Jersey, by the same resource code.
 * Jersey's per-request machinery (request scope, routing, parameter injection, entity providers,
 * event listeners) cost over a third of GET /users/{id}'s server CPU (0.136 ms per request with
 * it, 0.084 without: bench/results/2026-12-01-cost.md, with the flame graphs); the answer does
 * not need it. What the route does stays where it was: the resource method the filter calls
 * (replica routing, consistency tokens, caches, SQL objects and their statement metrics), the
 * same JSON from the application's ObjectMapper, the API's error shapes (the resource's own and
 * {@link DatabaseExceptionMapper}), and the route's Jersey metrics ({@code <Resource>.<method>},
 * {@code .total}, {@code .<N>xx-responses}), updated as Jersey would. No Jersey filter runs here,
 * so {@code .request.filtering} and {@code .response.filtering} count only what Jersey served.
 * <p>
 * Anything the filter is not sure of goes on to Jersey unchanged: another method or path, an
 * encoded or parameterised segment, an {@code Accept} that does not take JSON, or an error that
 * is not the database's (Jersey then answers it in its shape, logged under an id).
 */
public final class DirectGetFilter implements Filter {

    /** The resource's answer for the path segment between prefix and suffix. */
    @FunctionalInterface
    public interface Route {
        Response answer(String segment, HttpServletRequest request);
    }

    private static final String JSON = "application/json";

    private final String prefix;
    private final String suffix;
    private final Route route;
    private final ObjectMapper json;
    private final DatabaseExceptionMapper databaseErrors = new DatabaseExceptionMapper();
    private final Timer method;
    private final Timer total;
    private final Meter[] responses = new Meter[5];

    private DirectGetFilter(String prefix, String suffix, String metricName, Route route, ObjectMapper json,
                            MetricRegistry metrics) {
        this.prefix = prefix;
        this.suffix = suffix;
        this.route = route;
        this.json = json;
        this.method = metrics.timer(metricName);
        this.total = metrics.timer(MetricRegistry.name(metricName, "total"));
        for (int i = 0; i < responses.length; i++) {
            responses[i] = metrics.meter(MetricRegistry.name(metricName, (i + 1) + "xx-responses"));
        }
    }

    /**
     * Serves {@code GET <prefix><segment><suffix>} (one segment, no '/') with {@code route}, whose
     * metrics are those of {@code resource}'s {@code method} (the Jersey method it stands in for).
     */
    public static void register(Environment environment, String prefix, String suffix, Class<?> resource,
                                String method, Route route) {
        String metricName = MetricRegistry.name(resource, method);
        environment.servlets().addFilter(metricName, new DirectGetFilter(prefix, suffix, metricName, route,
                        environment.getObjectMapper(), environment.metrics()))
                .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, prefix + "*");
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
        Response answer;
        try {
            answer = route.answer(segment, request);
        } catch (JdbiException e) {
            answer = databaseErrors.toResponse(e);
        } catch (RuntimeException e) {
            chain.doFilter(req, res); // not the database's: Jersey answers it, in its shape, logged under an id
            return;
        }
        method.update(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        write(answer, (HttpServletResponse) res);
        total.update(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        int status = answer.getStatus() / 100;
        if (status >= 1 && status <= 5) {
            responses[status - 1].mark();
        }
    }

    /** The segment of a plain {@code GET <prefix><segment><suffix>} that asks for JSON, or null. */
    private String segment(HttpServletRequest request) {
        if (!"GET".equals(request.getMethod())) {
            return null;
        }
        String uri = request.getRequestURI(); // raw: nothing decoded, no query string
        int end = uri.length() - suffix.length();
        if (end <= prefix.length() || !uri.startsWith(prefix) || !uri.endsWith(suffix)
                || uri.indexOf('%') >= 0 || uri.indexOf(';') >= 0) {
            return null;
        }
        int slash = uri.indexOf('/', prefix.length());
        if (slash >= 0 && slash < end) {
            return null;
        }
        String accept = request.getHeader("Accept");
        if (accept != null && !accept.isEmpty() && !accept.contains(JSON) && !accept.contains("*/*")
                && !accept.contains("application/*")) {
            return null;
        }
        return uri.substring(prefix.length(), end);
    }

    private void write(Response answer, HttpServletResponse response) throws IOException {
        response.setStatus(answer.getStatus());
        answer.getHeaders().forEach((header, values) -> {
            if (!"Content-Type".equalsIgnoreCase(header)) {
                for (Object value : values) {
                    response.addHeader(header, String.valueOf(value));
                }
            }
        });
        byte[] body = json.writeValueAsBytes(answer.getEntity());
        response.setContentType(JSON);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }
}
