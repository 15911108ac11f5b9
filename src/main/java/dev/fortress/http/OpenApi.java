package dev.fortress.http;

import dev.fortress.auth.AccessRules;
import dev.fortress.db.ConsistencyTokenFeature;
import dev.fortress.db.IssuesConsistencyToken;
import io.dropwizard.core.setup.Environment;
import io.swagger.v3.core.util.Json;
import io.swagger.v3.core.util.Yaml;
import io.swagger.v3.jaxrs2.Reader;
import io.swagger.v3.oas.integration.SwaggerConfiguration;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.Paths;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.parameters.Parameter;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRegistration;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.HttpHeaders;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The API's OpenAPI 3 document, served at {@code GET /openapi.json} on the application port with
 * no key (a servlet beside Jersey's, as Dropwizard serves {@code /health-check}: every Jersey route
 * needs a key, see {@link AccessRules}). It is built once, as the server starts, from three things:
 * <ol>
 *   <li>{@code openapi.yaml} beside this class: info, the key scheme, the headers, parameters and
 *       answers several routes share, and the routes served outside Jersey;</li>
 *   <li>the registered resources, read by swagger's JAX-RS reader: their paths, methods,
 *       parameters, bodies and the answers their {@code @Operation}/{@code @ApiResponse}
 *       annotations give;</li>
 *   <li>what the infrastructure adds to every route whatever its resource says, taken from the same
 *       annotations that make it happen: the key ({@code Authorization: Bearer}) and its 401, the
 *       403 of a route with a scope ({@code @RolesAllowed}), the 429 of the limits and the 503 of
 *       overload and of an unreachable database, {@code RateLimit} on every answer past the key,
 *       {@code X-Consistency-Token} on the successes of an {@link IssuesConsistencyToken} route, and
 *       {@code Idempotent-Replayed} on those of a route that takes an {@code Idempotency-Key}. A
 *       header parameter named as one of the shared parameters is that parameter.</li>
 * </ol>
 * A Jersey route the reader did not describe stops the server from starting, as a route without an
 * access rule does. An instance that serves no API ({@code jobs.mode: worker}) serves no document.
 */
public final class OpenApi {

    /** Where the document is served. */
    public static final String PATH = "/openapi.json";
    /** The name of the key scheme in the document's components. */
    static final String KEY_SCHEME = "apiKey";

    private static final String BASE = "openapi.yaml";
    /** IdempotentWrites.KEY_HEADER's value: http/ imports no feature package (ArchitectureTest). */
    private static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    private OpenApi() {}

    /**
     * Serves the document if the instance serves the API ({@code serving}, as {@code Routes} does),
     * built from the resources Jersey has once the application has registered them all.
     */
    public static void register(Environment environment, boolean serving) {
        if (!serving) {
            return;
        }
        ServletRegistration.Dynamic servlet =
                environment.servlets().addServlet("openapi", new DocumentServlet(() -> resources(environment)));
        servlet.addMapping(PATH);
        // Built as the server starts, not on the first request: a resource it cannot describe fails the start.
        servlet.setLoadOnStartup(1);
    }

    /** The classes of the resources registered with Jersey, as classes or as instances. */
    private static List<Class<?>> resources(Environment environment) {
        Set<Class<?>> classes =
                new LinkedHashSet<>(environment.jersey().getResourceConfig().getClasses());
        environment.jersey().getResourceConfig().getInstances().forEach(instance -> classes.add(instance.getClass()));
        return classes.stream()
                .filter(type -> type.isAnnotationPresent(Path.class))
                .toList();
    }

    /** The document of {@code resources}. */
    static OpenAPI document(Collection<Class<?>> resources) {
        OpenAPI document = new Reader(new SwaggerConfiguration().openAPI(base())).read(new LinkedHashSet<>(resources));
        List<String> undescribed = new ArrayList<>();
        for (AccessRules.Route route : AccessRules.routes(resources)) {
            PathItem item = document.getPaths().get(route.path());
            Operation operation =
                    item == null ? null : item.readOperationsMap().get(PathItem.HttpMethod.valueOf(route.method()));
            if (operation == null) {
                undescribed.add(route.toString());
            } else {
                addWhatEveryRouteAnswers(document, operation, route);
            }
        }
        Paths sorted = new Paths();
        document.getPaths().keySet().stream()
                .sorted()
                .forEach(path -> sorted.addPathItem(path, document.getPaths().get(path)));
        document.setPaths(sorted);
        if (!undescribed.isEmpty()) {
            throw new IllegalStateException("routes missing from the OpenAPI document (hidden, or not read by "
                    + "swagger's reader): " + undescribed);
        }
        return document;
    }

    /** The document as served. */
    static byte[] json(OpenAPI document) {
        try {
            // swagger's own mapper: its model needs the serializers and inclusion rules that come with it.
            return Json.pretty().writeValueAsBytes(document);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static OpenAPI base() {
        try (InputStream yaml = OpenApi.class.getResourceAsStream(BASE)) {
            if (yaml == null) {
                throw new IllegalStateException(BASE + " is not on the classpath beside " + OpenApi.class.getName());
            }
            return Yaml.mapper().readValue(yaml, OpenAPI.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + BASE, e);
        }
    }

    private static void addWhatEveryRouteAnswers(OpenAPI document, Operation operation, AccessRules.Route route) {
        operation.setSecurity(List.of(new SecurityRequirement().addList(KEY_SCHEME)));
        boolean scoped = !route.scopes().isEmpty();
        if (scoped) {
            String scopes = String.join("` or `", route.scopes());
            String needs = "Needs a key with the scope `" + scopes + "`.";
            operation.setDescription(
                    operation.getDescription() == null
                            ? needs
                            : operation.getDescription().strip() + " " + needs);
        }
        Map<String, Parameter> shared = document.getComponents().getParameters();
        if (operation.getParameters() != null && shared != null) {
            operation.setParameters(operation.getParameters().stream()
                    .map(p -> shared(shared, p))
                    .toList());
        }
        boolean idempotent = Arrays.stream(route.handler().getParameters())
                .map(p -> p.getAnnotation(HeaderParam.class))
                .anyMatch(header -> header != null && IDEMPOTENCY_KEY.equals(header.value()));
        boolean token = route.handler().isAnnotationPresent(IssuesConsistencyToken.class);

        ApiResponses responses = operation.getResponses() == null ? new ApiResponses() : operation.getResponses();
        responses.putIfAbsent("401", reference("Unauthorized"));
        if (scoped) {
            responses.putIfAbsent("403", reference("Forbidden"));
        }
        responses.putIfAbsent("429", reference("TooManyRequests"));
        responses.putIfAbsent("503", reference("Unavailable"));
        ApiResponses sorted = new ApiResponses();
        responses.keySet().stream().sorted().forEach(code -> {
            ApiResponse response = responses.get(code);
            if (response.get$ref() == null) {
                describe(response, code, token, idempotent);
            }
            sorted.addApiResponse(code, response);
        });
        operation.setResponses(sorted);
    }

    /** The shared parameter (a reference to it) that {@code parameter} is, or {@code parameter}. */
    private static Parameter shared(Map<String, Parameter> shared, Parameter parameter) {
        if (!"header".equals(parameter.getIn())) {
            return parameter;
        }
        return shared.entrySet().stream()
                .filter(e -> e.getValue().getName().equals(parameter.getName()))
                .findFirst()
                .map(e -> new Parameter().$ref("#/components/parameters/" + e.getKey()))
                .orElse(parameter);
    }

    /** What a route's own answer {@code code} carries besides what its annotation says. */
    private static void describe(ApiResponse response, String code, boolean token, boolean idempotent) {
        if (code.matches("[45]\\d\\d") && response.getContent() == null) {
            response.setContent(new Content()
                    .addMediaType(
                            "application/json",
                            new MediaType().schema(new Schema<>().$ref("#/components/schemas/Error"))));
        }
        if (code.startsWith("2") && token) {
            header(response, ConsistencyTokenFeature.HEADER);
        }
        if (code.startsWith("2") && idempotent) {
            header(response, "Idempotent-Replayed");
        }
        if (code.equals("429") || code.equals("503")) {
            header(response, HttpHeaders.RETRY_AFTER);
        }
        if (code.equals("429")) {
            header(response, "RateLimit-Policy");
        }
        if (!code.equals("401")) {
            header(response, "RateLimit"); // on every answer to a key that was admitted
        }
    }

    private static ApiResponse reference(String name) {
        return new ApiResponse().$ref("#/components/responses/" + name);
    }

    private static void header(ApiResponse response, String name) {
        if (response.getHeaders() == null || !response.getHeaders().containsKey(name)) {
            response.addHeaderObject(name, new Header().$ref("#/components/headers/" + name));
        }
    }

    /** Serves the document built when the servlet was initialised, as the server started. */
    private static final class DocumentServlet extends HttpServlet {

        private final transient Supplier<List<Class<?>>> resources;
        private transient byte[] document;

        DocumentServlet(Supplier<List<Class<?>>> resources) {
            this.resources = resources;
        }

        @Override
        public void init() throws ServletException {
            document = json(OpenApi.document(resources.get()));
        }

        @Override
        protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
            response.setContentType("application/json");
            response.setCharacterEncoding("UTF-8");
            response.setContentLength(document.length);
            response.getOutputStream().write(document);
        }
    }
}
