package dev.fortress.http;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.auth.Access;
import dev.fortress.auth.AccessCheck;
import dev.fortress.auth.Caller;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jersey.errors.LoggingExceptionMapper;
import jakarta.annotation.security.RolesAllowed;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.JdbiException;

/**
 * One hot GET route answered in a servlet filter in front of Jersey, by the same resource code.
 * Jersey's per-request machinery (request scope, routing, parameter injection, entity providers,
 * event listeners) cost over a third of GET /users/{id}'s server CPU (0.136 ms per request with
 * it, 0.084 without: bench/results/2026-12-01-cost.md, with the flame graphs); the answer does
 * not need it. What the route does stays where it was: the access rule ({@link Access#check}: the
 * same key parse, cached authenticator, limits, scope and 401/403/429 answers as Jersey's, the scope read from
 * the resource method's own {@code @RolesAllowed}), the resource method the filter calls (replica
 * routing, consistency tokens, caches, SQL objects and their statement metrics), the same JSON
 * from the application's ObjectMapper, the API's error shapes ({@link DatabaseExceptionMapper},
 * and Dropwizard's own mapper for anything else, as Jersey would map it), and the route's Jersey
 * metrics ({@code <Resource>.<method>}, {@code .total}, {@code .<N>xx-responses}), updated as
 * Jersey would: a refused request counts in {@code .total} and the responses, not in the method's
 * timer. No Jersey filter runs here, so {@code .request.filtering} and {@code .response.filtering}
 * count only what Jersey served.
 * <p>
 * A request the filter takes is answered by it exactly once, whatever happens. What it does not
 * take goes on to Jersey untouched, before anything has run: another method or path, an encoded or
 * parameterised segment, or an {@code Accept} header other than none, {@code *}{@code /*},
 * {@code application/*} or {@code application/json} (Jersey negotiates the rest; DirectGetFilterTest
 * checks that both answer alike).
 */
public final class DirectGetFilter implements Filter {

    /** The resource's answer for the path segment between prefix and suffix, for an allowed caller. */
    @FunctionalInterface
    public interface Route {
        Response answer(Caller caller, String segment, HttpServletRequest request);
    }

    private static final String JSON = "application/json";
    /** The Accept headers the filter answers; anything else is negotiated by Jersey. */
    private static final List<String> ACCEPTED = List.of("*/*", "application/*", JSON);

    private final String prefix;
    private final String suffix;
    private final Route route;
    private final AccessCheck access;
    private final String scope;
    private final String family;
    private final ObjectMapper json;
    private final DatabaseExceptionMapper databaseErrors;
    private final LoggingExceptionMapper<Throwable> otherErrors = new LoggingExceptionMapper<>() {};
    private final Timer method;
    private final Timer total;
    private final Meter[] responses = new Meter[5];

    DirectGetFilter(
            String prefix,
            String suffix,
            String metricName,
            Route route,
            AccessCheck access,
            String scope,
            String family,
            ObjectMapper json,
            DatabaseExceptionMapper databaseErrors,
            MetricRegistry metrics) {
        this.prefix = prefix;
        this.databaseErrors = databaseErrors;
        this.suffix = suffix;
        this.route = route;
        this.access = access;
        this.scope = scope;
        this.family = family;
        this.json = json;
        this.method = metrics.timer(metricName);
        this.total = metrics.timer(MetricRegistry.name(metricName, "total"));
        for (int i = 0; i < responses.length; i++) {
            responses[i] = metrics.meter(MetricRegistry.name(metricName, (i + 1) + "xx-responses"));
        }
    }

    /**
     * Serves {@code GET <prefix><segment><suffix>} (one segment, no '/') with {@code route}, under the
     * access rule and metrics of {@code resource}'s {@code method} (the Jersey method it stands in
     * for, which must name one scope in {@code @RolesAllowed}).
     */
    public static void register(
            Environment environment,
            Access access,
            DatabaseExceptionMapper databaseErrors,
            String prefix,
            String suffix,
            Class<?> resource,
            String method,
            Route route) {
        String metricName = MetricRegistry.name(resource, method);
        environment
                .servlets()
                .addFilter(
                        metricName,
                        new DirectGetFilter(
                                prefix,
                                suffix,
                                metricName,
                                route,
                                access,
                                scopeOf(resource, method),
                                Access.family(resource),
                                environment.getObjectMapper(),
                                databaseErrors,
                                environment.metrics()))
                .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, prefix + "*");
    }

    /** The one scope the Jersey GET method {@code name} of {@code resource} needs, from its {@code @RolesAllowed}. */
    static String scopeOf(Class<?> resource, String name) {
        Method get = Arrays.stream(resource.getMethods())
                .filter(m -> m.getName().equals(name) && m.isAnnotationPresent(GET.class))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException(resource.getName() + " has no @GET method " + name));
        RolesAllowed rule = get.isAnnotationPresent(RolesAllowed.class)
                ? get.getAnnotation(RolesAllowed.class)
                : resource.getAnnotation(RolesAllowed.class);
        if (rule == null || rule.value().length != 1) {
            throw new IllegalArgumentException(
                    get + " must name exactly one scope in @RolesAllowed to be served " + "in front of Jersey");
        }
        return rule.value()[0];
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
        String rateLimit = null;
        try {
            Access.Decision decision = access.check(authorization(request), request.getRemoteAddr(), scope, family);
            if (decision instanceof Access.Allowed allowed) {
                rateLimit = allowed.rateLimit();
                try {
                    answer = route.answer(allowed.caller(), segment, request);
                } finally {
                    allowed.release();
                    method.update(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                }
            } else {
                answer = ((Access.Refused) decision).response();
            }
        } catch (JdbiException e) {
            answer = databaseErrors.toResponse(e);
        } catch (RuntimeException e) {
            answer = otherErrors.toResponse(e); // Jersey's answer to it: the API's shape, logged under an id
        }
        write(answer, rateLimit, (HttpServletResponse) res);
        total.update(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        int status = answer.getStatus() / 100;
        if (status >= 1 && status <= 5) {
            responses[status - 1].mark();
        }
    }

    /**
     * The {@code Authorization} header as Jersey reads it: several are joined with ",", which is no
     * key, so a request that sends two (even the same key twice) is refused on both paths alike.
     */
    private static String authorization(HttpServletRequest request) {
        Enumeration<String> values = request.getHeaders(HttpHeaders.AUTHORIZATION);
        if (values == null || !values.hasMoreElements()) {
            return null;
        }
        String first = values.nextElement();
        if (!values.hasMoreElements()) {
            return first;
        }
        StringBuilder joined = new StringBuilder(first);
        while (values.hasMoreElements()) {
            joined.append(',').append(values.nextElement());
        }
        return joined.toString();
    }

    /** The segment of a plain {@code GET <prefix><segment><suffix>} that asks for JSON, or null. */
    private String segment(HttpServletRequest request) {
        if (!"GET".equals(request.getMethod())) {
            return null;
        }
        String uri = request.getRequestURI(); // raw: nothing decoded, no query string
        int end = uri.length() - suffix.length();
        if (end <= prefix.length()
                || !uri.startsWith(prefix)
                || !uri.endsWith(suffix)
                || uri.indexOf('%') >= 0
                || uri.indexOf(';') >= 0) {
            return null;
        }
        int slash = uri.indexOf('/', prefix.length());
        if (slash >= 0 && slash < end) {
            return null;
        }
        String accept = request.getHeader(HttpHeaders.ACCEPT);
        if (accept != null && !accept.isBlank() && !ACCEPTED.contains(accept.strip())) {
            return null;
        }
        return uri.substring(prefix.length(), end);
    }

    private void write(Response answer, String rateLimit, HttpServletResponse response) throws IOException {
        response.setStatus(answer.getStatus());
        if (rateLimit != null) {
            response.setHeader("RateLimit", rateLimit);
        }
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
