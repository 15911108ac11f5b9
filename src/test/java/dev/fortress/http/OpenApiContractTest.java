package dev.fortress.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.swagger.v3.core.util.Json;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.parameters.Parameter;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.security.SecurityScheme;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The contract the service serves ({@code GET /openapi.json}) against docs/api.md, read from the
 * Markdown itself: its route tables ({@code | method | path | answer |}: each route, its query
 * parameters, the status codes and the headers its answer names), the routes that need no key,
 * the scope table (each route there can be a 403), the fields of the Limits table, and the routes
 * that "Idempotent writes" and "Read-your-writes" name. A route in one and not the other fails,
 * either way round. The document as served is written to target/openapi.json for .ci/openapi-lint.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class OpenApiContractTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB);
    private static final Path API_MD = Path.of("docs/api.md");
    private static final Path WRITTEN = Path.of("target/openapi.json");
    /**
     * What docs/api.md says of every route that needs a key in prose rather than a table: a refused
     * key's 401 and its challenge (Callers and organisations), and the 503 of a database or an
     * instance that cannot serve, with Retry-After (the introduction).
     */
    private static final Map<String, String> EVERY_KEYED_ROUTE =
            Map.of("401", "WWW-Authenticate", "503", "Retry-After");

    @Test
    void isServedWithoutAKeyAsAnOpenApi3Document() throws IOException {
        HttpResponse<String> served = new Http("127.0.0.1", APP.getLocalPort()).get(OpenApi.PATH);

        assertThat(served.statusCode()).isEqualTo(200);
        assertThat(served.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
        Files.createDirectories(WRITTEN.getParent());
        Files.writeString(WRITTEN, served.body(), StandardCharsets.UTF_8);
        OpenAPI document = Json.mapper().readValue(served.body(), OpenAPI.class);
        assertThat(document.getOpenapi()).startsWith("3.");
        assertThat(document.getInfo().getTitle()).isEqualTo("Fortress");
        assertThat(document.getInfo().getVersion())
                .as("the project's version, filled in by Maven")
                .isNotBlank()
                .doesNotContain("${");
    }

    @Test
    void hasExactlyTheRoutesOfTheDocs() throws IOException {
        Set<String> documented = new TreeSet<>();
        document()
                .getPaths()
                .forEach((path, item) ->
                        item.readOperationsMap().keySet().forEach(method -> documented.add(method + " " + path)));

        assertThat(documented)
                .as("routes of /openapi.json against the route tables of docs/api.md")
                .isEqualTo(new TreeSet<>(ApiDoc.read().routes().keySet()));
    }

    @Test
    void givesEachRouteTheQueryParametersStatusCodesAndHeadersOfItsRow() throws IOException {
        OpenAPI document = document();
        List<String> problems = new ArrayList<>();
        for (ApiDoc.Route route : ApiDoc.read().routes().values()) {
            Operation operation = operation(document, route.name());
            if (operation == null) {
                continue; // hasExactlyTheRoutesOfTheDocs names it
            }
            Set<String> query = new TreeSet<>();
            parameters(document, operation).stream()
                    .filter(p -> "query".equals(p.getIn()))
                    .forEach(p -> query.add(p.getName()));
            if (!query.equals(route.query())) {
                problems.add(route.name() + ": query parameters " + query + ", docs/api.md " + route.query());
            }
            for (String code : route.codes()) {
                if (response(document, operation, code) == null) {
                    problems.add(route.name() + ": no " + code);
                }
            }
            for (String header : route.headers()) {
                if (!hasHeader(document, operation, header)) {
                    problems.add(route.name() + ": no " + header + " header, as a parameter or in an answer");
                }
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void declaresTheKeyAndTheLimitsOnEveryRouteThatNeedsAKey() throws IOException {
        OpenAPI document = document();
        ApiDoc docs = ApiDoc.read();
        assertThat(docs.withoutKey()).as("docs/api.md's routes without a key").isNotEmpty();
        assertThat(docs.scoped()).as("the routes of docs/api.md's scope table").isNotEmpty();
        List<String> problems = new ArrayList<>();
        for (String route : docs.routes().keySet()) {
            Operation operation = operation(document, route);
            if (operation == null) {
                continue;
            }
            if (docs.withoutKey().contains(route)) {
                if (operation.getSecurity() == null || !operation.getSecurity().isEmpty()) {
                    problems.add(route + ": needs no key, but its security is " + operation.getSecurity());
                }
                continue;
            }
            if (operation.getSecurity() == null
                    || operation.getSecurity().size() != 1
                    || !isBearer(document, operation.getSecurity().get(0).keySet())) {
                problems.add(route + ": security " + operation.getSecurity() + " is not the bearer key");
            }
            EVERY_KEYED_ROUTE.forEach(
                    (code, header) -> expectHeader(document, operation, route, code, header, problems));
            if (docs.scoped().contains(route) && response(document, operation, "403") == null) {
                problems.add(route + ": has a scope in docs/api.md but no 403");
            }
            docs.limitFields().forEach((field, codes) -> {
                for (String code : codes) {
                    expectHeader(document, operation, route, code, field, problems);
                }
            });
            operation.getResponses().keySet().stream()
                    .filter(code -> !code.equals("401"))
                    .filter(code -> docs.onEveryAdmittedAnswer().stream()
                            .anyMatch(field -> !headers(response(document, operation, code))
                                    .contains(field)))
                    .forEach(code -> problems.add(route + ": " + code + " lacks " + docs.onEveryAdmittedAnswer()));
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void givesWritesAndReadsTheirIdempotencyAndConsistencyHeaders() throws IOException {
        OpenAPI document = document();
        ApiDoc docs = ApiDoc.read();
        ApiDoc.Section idempotent = docs.section("Idempotent writes");
        ApiDoc.Section consistent = docs.section("Read-your-writes");
        assertThat(idempotent.routes())
                .as("the routes of docs/api.md's Idempotent writes")
                .isNotEmpty();
        assertThat(consistent.routes())
                .as("the writes of docs/api.md's Read-your-writes")
                .isNotEmpty();
        List<String> problems = new ArrayList<>();
        for (String route : idempotent.routes()) {
            Operation operation = operation(document, route);
            if (!parameterNames(document, operation).contains("Idempotency-Key")) {
                problems.add(route + ": no Idempotency-Key parameter");
            }
            idempotent.codes().stream()
                    .filter(code -> response(document, operation, code) == null)
                    .forEach(code -> problems.add(route + ": no " + code + " (Idempotent writes)"));
            successes(operation).stream()
                    .filter(code ->
                            !headers(response(document, operation, code)).contains("Idempotent-Replayed"))
                    .forEach(code -> problems.add(route + ": " + code + " without Idempotent-Replayed"));
        }
        for (String route : consistent.routes()) {
            Operation operation = operation(document, route);
            successes(operation).stream()
                    .filter(code ->
                            !headers(response(document, operation, code)).contains("X-Consistency-Token"))
                    .forEach(code -> problems.add(route + ": " + code + " without X-Consistency-Token"));
        }
        // The reads that take a token are the rows that name it; each can answer Read-your-writes' 400.
        for (ApiDoc.Route route : docs.routes().values()) {
            if (route.method().equals("GET") && route.headers().contains("X-Consistency-Token")) {
                Operation operation = operation(document, route.name());
                consistent.codes().stream()
                        .filter(code -> response(document, operation, code) == null)
                        .forEach(code -> problems.add(route.name() + ": no " + code + " (Read-your-writes)"));
            }
        }
        assertThat(problems).isEmpty();
    }

    private static OpenAPI document() throws IOException {
        HttpResponse<String> served = new Http("127.0.0.1", APP.getLocalPort()).get(OpenApi.PATH);
        assertThat(served.statusCode()).isEqualTo(200);
        return Json.mapper().readValue(served.body(), OpenAPI.class);
    }

    /** {@code "GET /users/{id}"}'s operation, or null. */
    private static Operation operation(OpenAPI document, String route) {
        String[] parts = route.split(" ", 2);
        PathItem item = document.getPaths().get(parts[1]);
        return item == null ? null : item.readOperationsMap().get(PathItem.HttpMethod.valueOf(parts[0]));
    }

    private static List<Parameter> parameters(OpenAPI document, Operation operation) {
        List<Parameter> resolved = new ArrayList<>();
        if (operation.getParameters() != null) {
            for (Parameter parameter : operation.getParameters()) {
                resolved.add(
                        parameter.get$ref() == null
                                ? parameter
                                : document.getComponents().getParameters().get(name(parameter.get$ref())));
            }
        }
        return resolved;
    }

    private static Set<String> parameterNames(OpenAPI document, Operation operation) {
        Set<String> names = new LinkedHashSet<>();
        parameters(document, operation).forEach(p -> names.add(p.getName()));
        return names;
    }

    private static ApiResponse response(OpenAPI document, Operation operation, String code) {
        ApiResponse response = operation.getResponses() == null
                ? null
                : operation.getResponses().get(code);
        return response == null || response.get$ref() == null
                ? response
                : document.getComponents().getResponses().get(name(response.get$ref()));
    }

    private static Set<String> headers(ApiResponse response) {
        return response == null || response.getHeaders() == null
                ? Set.of()
                : response.getHeaders().keySet();
    }

    private static List<String> successes(Operation operation) {
        return operation.getResponses().keySet().stream()
                .filter(code -> code.startsWith("2"))
                .toList();
    }

    private static boolean hasHeader(OpenAPI document, Operation operation, String header) {
        return parameters(document, operation).stream()
                        .anyMatch(p -> "header".equals(p.getIn()) && p.getName().equals(header))
                || operation.getResponses().keySet().stream()
                        .anyMatch(code ->
                                headers(response(document, operation, code)).contains(header));
    }

    private static void expectHeader(
            OpenAPI document, Operation operation, String route, String code, String header, List<String> problems) {
        ApiResponse response = response(document, operation, code);
        if (response == null) {
            problems.add(route + ": no " + code);
        } else if (!headers(response).contains(header)) {
            problems.add(route + ": " + code + " without " + header);
        }
    }

    private static boolean isBearer(OpenAPI document, Set<String> schemes) {
        return schemes.size() == 1
                && schemes.stream()
                        .map(document.getComponents().getSecuritySchemes()::get)
                        .allMatch(s ->
                                s != null && s.getType() == SecurityScheme.Type.HTTP && "bearer".equals(s.getScheme()));
    }

    private static String name(String ref) {
        return ref.substring(ref.lastIndexOf('/') + 1);
    }

    /** What the test reads from docs/api.md. */
    record ApiDoc(
            String text,
            Map<String, Route> routes,
            Set<String> withoutKey,
            Set<String> scoped,
            Map<String, Set<String>> limitFields,
            Set<String> onEveryAdmittedAnswer) {

        /**
         * A status code in prose: three digits that are not part of a number, a JSON value or a path
         * ({@code "count":123}, {@code 0/3000148}), nor denied ({@code never 500}), and that are a
         * status ({@link #isStatus}).
         */
        private static final Pattern CODE =
                Pattern.compile("(?<!never )(?<![\\w\"':./{-])([2-5]\\d\\d)(?![\\w\"':./}-])");
        /** A header name in backticks, alone or with a value ({@code `X-Cache: hit`}); nothing else there is capitalised. */
        private static final Pattern HEADER = Pattern.compile("`([A-Z][A-Za-z]*(?:-[A-Za-z]+)*)(?::[^`]*)?`");

        private static final Pattern ROUTE = Pattern.compile("`(GET|POST|PUT|PATCH|DELETE) (/[^`\\s?]*)`");
        private static final Pattern WITHOUT_KEY =
                Pattern.compile("Every route but (.+?) needs an API key", Pattern.DOTALL);

        /** A row of a route table. */
        record Route(String method, String path, Set<String> query, Set<String> codes, Set<String> headers) {
            String name() {
                return method + " " + path;
            }
        }

        /** A {@code ## } section: the routes named in its first paragraph, the status codes it names. */
        record Section(Set<String> routes, Set<String> codes) {}

        static ApiDoc read() throws IOException {
            String text = Files.readString(API_MD);
            Map<String, Route> routes = new LinkedHashMap<>();
            for (List<String> row : table(text, "| method | path | answer |")) {
                String[] target = row.get(1).replace("`", "").split("\\?", 2);
                Set<String> query = new TreeSet<>();
                if (target.length > 1) {
                    for (String pair : target[1].split("&")) {
                        query.add(pair.replaceAll("=.*", ""));
                    }
                }
                Route route = new Route(row.get(0), target[0], query, all(CODE, row.get(2)), all(HEADER, row.get(2)));
                assertThat(routes.put(route.name(), route))
                        .as("%s twice in docs/api.md", route.name())
                        .isNull();
            }
            Matcher withoutKey = WITHOUT_KEY.matcher(text);
            assertThat(withoutKey.find())
                    .as("docs/api.md says which routes need no key")
                    .isTrue();
            Set<String> scoped = new TreeSet<>();
            table(text, "| scope | lets a key |").forEach(row -> scoped.addAll(routes(row.get(1))));
            Map<String, Set<String>> limitFields = new LinkedHashMap<>();
            Set<String> everyAnswer = new TreeSet<>();
            for (List<String> row : table(text, "| field | on | meaning |")) {
                String field = row.get(0).replace("`", "");
                limitFields.put(field, all(CODE, row.get(1)));
                if (row.get(1).contains("every response")) {
                    everyAnswer.add(field);
                }
            }
            assertThat(limitFields).as("docs/api.md's Limits fields").isNotEmpty();
            return new ApiDoc(text, routes, routes(withoutKey.group(1)), scoped, limitFields, everyAnswer);
        }

        Section section(String title) {
            int start = text.indexOf("\n## " + title + "\n");
            assertThat(start).as("docs/api.md has a section %s", title).isNotNegative();
            int end = text.indexOf("\n## ", start + 1);
            String section = text.substring(start, end < 0 ? text.length() : end);
            String firstParagraph = section.strip().split("\n\n", 3)[1];
            return new Section(routes(firstParagraph), all(CODE, section));
        }

        /** The cells of each row of the tables whose header row is {@code header}. */
        private static List<List<String>> table(String text, String header) {
            List<List<String>> rows = new ArrayList<>();
            boolean in = false;
            for (String line : text.split("\n")) {
                if (line.strip().equals(header)) {
                    in = true;
                } else if (in && line.startsWith("|---")) {
                    continue;
                } else if (in && line.startsWith("| ")) {
                    // Split on " | " only: a cell may hold a pipe in backticks (`queued|processing`).
                    String row = line.strip();
                    rows.add(List.of(row.substring(2, row.length() - 2).split(" \\| ", 3)));
                } else {
                    in = false;
                }
            }
            return rows;
        }

        private static Set<String> routes(String text) {
            Set<String> routes = new TreeSet<>();
            Matcher matcher = ROUTE.matcher(text);
            while (matcher.find()) {
                routes.add(matcher.group(1) + " " + matcher.group(2));
            }
            return routes;
        }

        private static Set<String> all(Pattern pattern, String text) {
            Set<String> found = new TreeSet<>();
            Matcher matcher = pattern.matcher(text);
            while (matcher.find()) {
                if (pattern != CODE || isStatus(Integer.parseInt(matcher.group(1)))) {
                    found.add(matcher.group(1));
                }
            }
            return found;
        }

        /** A status JAX-RS names, or 422 (which it does not); so "over 255 characters" is no status. */
        private static boolean isStatus(int code) {
            return code == 422 || Response.Status.fromStatusCode(code) != null;
        }
    }
}
