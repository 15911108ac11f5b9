package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.HostileHttp;
import dev.fortress.testing.HostileRequests;
import dev.fortress.testing.HostileRequests.Expect;
import dev.fortress.testing.HostileRequests.Request;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 9, scenario 7: over a thousand generated malformed requests across every route of docs/api.md
 * (seeded, so a failure reproduces), sent over raw sockets. No answer may be a 5xx; every error
 * is JSON in the API's shape, without stack traces or SQL; a connection may close unanswered only
 * where the server refuses an oversized request; and the database changes only by the valid
 * requests mixed in. Every request calls with a key of one organisation, except the attacks on
 * authentication itself, whose every answer is the 401 ({@code WWW-Authenticate: Bearer}); and no
 * request with the key is ever answered 401.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class HostileInputTest {

    private static final long SEED = 0x9_2026L;
    private static final TestDatabase DB = TestDatabase.create();
    private static final long IMPORT_LIMIT = 64 * 1024;
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            ConfigOverride.config("imports.maxUploadSize", "64KiB"),
            // Its four clients call with one organisation's key: room for all four to upload at once.
            ConfigOverride.config("imports.maxUploadsPerOrg", "4"),
            ConfigOverride.config("redis.url", "redis://127.0.0.1:6379/11"));
    private static final Jdbi JDBI = DB.jdbi();
    private static final long ORG = 1;
    private static final String KEY = TestKeys.of(DB, ORG);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the server says when it leaks its insides: stack frames, exception names, SQL and driver text. */
    private static final Pattern LEAK = Pattern.compile(
            "Exception|\\tat |\\.java:\\d|org\\.postgresql|org\\.jdbi|"
                    + "SQLState|SQL state|ERROR: |syntax error|violates|relation \"|jakarta\\.|org\\.eclipse|org\\.glassfish|"
                    + "com\\.fasterxml|dev\\.fortress|pg_|Caused by|Powered by Jetty",
            Pattern.CASE_INSENSITIVE);

    @Test
    void malformedRequestsOnEveryRouteGetJsonErrorsAndChangeNothing() throws Exception {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
        long userId = JDBI.withHandle(h -> h.select(
                        "insert into users (email, role, org_id, age) "
                                + "values ('target@hostile.io', 'member', ?, 30) returning id",
                        ORG)
                .mapTo(Long.class)
                .one());
        HttpResponse<String> firstImport = api.send(HttpRequest.newBuilder(api.uri("/imports"))
                .header("Content-Type", "text/csv")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "email,role,org_id,age\nfirst@hostile.io,admin," + ORG + ",30\n")));
        assertThat(firstImport.statusCode()).isEqualTo(202);
        String importId = (String) Http.json(firstImport).get("importId");
        awaitImportsFinished();
        Map<String, Long> before = counts();

        List<Request> requests = HostileRequests.generate(
                SEED, new HostileRequests.Context(ORG, KEY, userId, importId, 16 * 1024, 4 * 1024, IMPORT_LIMIT));
        HostileHttp http = new HostileHttp("127.0.0.1", APP.getLocalPort());
        ExecutorService clients = Executors.newFixedThreadPool(4);
        List<Future<HostileHttp.Answer>> pending = new ArrayList<>();
        for (Request request : requests) {
            pending.add(clients.submit(() -> http.exchange(request.bytes())));
        }
        FaultSummary summary = new FaultSummary("hostile input");
        List<String> violations = new ArrayList<>();
        Map<String, Integer> perRoute = new TreeMap<>();
        Map<Integer, Integer> authStatuses = new TreeMap<>();
        Map<Integer, Integer> statuses = new TreeMap<>();
        int createdUsers = 0;
        int createdTransactions = 0;
        int validImports = 0;
        Set<String> acceptedImports = new HashSet<>();
        List<String> createdEmails = new ArrayList<>();
        long started = System.nanoTime();
        for (int i = 0; i < requests.size(); i++) {
            Request request = requests.get(i);
            HostileHttp.Answer answer = pending.get(i).get();
            summary.record(answer.status());
            perRoute.merge(request.route(), 1, Integer::sum);
            statuses.merge(answer.status(), 1, Integer::sum);
            if (request.what().startsWith(HostileRequests.AUTH)) {
                authStatuses.merge(answer.status(), 1, Integer::sum);
            }
            if (answer.millis() > 1_000) {
                System.out.println(
                        "SLOW " + answer.millis() + " ms: " + request.route() + " [" + request.what() + "] " + answer);
            }
            String problem = problem(request, answer);
            if (problem != null) {
                violations.add(request.route() + " [" + request.what() + "]: " + problem + " -- got " + answer);
            }
            if (request.writes()
                    && request.expect() != Expect.ACCEPT
                    && answer.status() >= 200
                    && answer.status() < 300) {
                System.out.println("LENIENT " + answer.status() + " " + request.route() + " [" + request.what() + "]");
            }
            if (answer.status() == 201 && request.route().equals(HostileRequests.USERS)) {
                createdUsers++;
                createdEmails.add(
                        (String) JSON.readValue(answer.body(), Map.class).get("email"));
                if (request.email() != null && !request.email().equals(createdEmails.get(createdEmails.size() - 1))) {
                    violations.add(
                            request.route() + " [" + request.what() + "]: stored email differs from the one sent");
                }
            }
            if (answer.status() == 201 && request.route().equals(HostileRequests.NEW_TRANSACTION)) {
                createdTransactions++;
            }
            if (answer.status() == 202 && request.route().equals(HostileRequests.IMPORTS)) {
                acceptedImports.add(
                        (String) JSON.readValue(answer.body(), Map.class).get("importId"));
                if (request.expect() == Expect.ACCEPT) {
                    validImports++;
                }
            }
        }
        clients.shutdown();
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        violations.forEach(v -> System.out.println("VIOLATION " + v));
        awaitImportsFinished();
        Map<String, Long> after = counts();
        long importedRows = JDBI.withHandle(h -> h.select(
                        "select coalesce(sum(rows_imported), 0) from imports " + "where id::text = any(?)",
                        (Object) acceptedImports.toArray(new String[0]))
                .mapTo(Long.class)
                .one());
        long expectedUsers = before.get("users") + createdUsers + 2L * validImports;
        long extraRows = Math.abs(after.get("users") - expectedUsers)
                + Math.abs(after.get("transactions") - before.get("transactions") - createdTransactions)
                + Math.abs(after.get("imports") - before.get("imports") - acceptedImports.size());
        summary.report(
                0,
                extraRows,
                null,
                String.format(
                        "%d generated requests (seed %d) over %d routes in %.1f s; "
                                + "statuses %s (the only 5xx: 505 HTTP Version Not Supported to HTTP/0.9, HTTP/9.9 and FTP/1.0 "
                                + "request lines); attacks on authentication %s; writes accepted: %d users, %d transactions, "
                                + "%d imports (%d valid); violations %d",
                        requests.size(),
                        SEED,
                        perRoute.size(),
                        took.toMillis() / 1000.0,
                        statuses,
                        authStatuses,
                        createdUsers,
                        createdTransactions,
                        acceptedImports.size(),
                        validImports,
                        violations.size()));

        assertThat(requests).hasSizeGreaterThanOrEqualTo(1_000);
        assertThat(perRoute.keySet())
                .containsAll(List.of(
                        HostileRequests.USERS,
                        HostileRequests.USER,
                        HostileRequests.STATS,
                        HostileRequests.NEW_TRANSACTION,
                        HostileRequests.TRANSACTIONS,
                        HostileRequests.SUMMARY,
                        HostileRequests.IMPORTS,
                        HostileRequests.IMPORT));
        assertThat(violations)
                .as(String.join("\n", violations.subList(0, Math.min(80, violations.size()))))
                .isEmpty();
        long only401 =
                requests.stream().filter(r -> r.statuses().equals(Set.of(401))).count();
        assertThat(only401).as("attacks on authentication on every route").isGreaterThanOrEqualTo(8 * 20);
        assertThat(authStatuses.getOrDefault(401, 0))
                .as("attacks on authentication answered 401")
                .isGreaterThanOrEqualTo((int) only401);
        assertThat(after.get("users"))
                .as("users: only the valid creates and the valid imports' rows")
                .isEqualTo(expectedUsers);
        assertThat(importedRows).as("only the valid imports imported rows").isEqualTo(2L * validImports);
        assertThat(after.get("transactions") - before.get("transactions")).isEqualTo(createdTransactions);
        assertThat(after.get("imports") - before.get("imports")).isEqualTo(acceptedImports.size());
        for (String email : createdEmails) {
            long stored = JDBI.withHandle(h -> h.select("select count(*) from users where email = ?", email)
                    .mapTo(Long.class)
                    .one());
            assertThat(stored).as("stored literally: %s", email).isEqualTo(1);
        }
        long tables = JDBI.withHandle(h -> h.select("select count(*) from information_schema.tables "
                        + "where table_name in ('users', 'transactions', 'imports')")
                .mapTo(Long.class)
                .one());
        assertThat(tables).as("no table dropped").isEqualTo(3);
    }

    /** Why an answer is wrong for its request, or null. */
    private static String problem(Request request, HostileHttp.Answer answer) {
        int status = answer.status();
        if (status < 0) {
            return request.mayClose() ? null : "no answer";
        }
        if (status >= 500 && !request.statuses().contains(status)) {
            return "a 5xx";
        }
        if (!request.statuses().isEmpty() && !request.statuses().contains(status)) {
            return "status not in " + request.statuses();
        }
        boolean success = status >= 200 && status < 300;
        if (request.expect() == Expect.ACCEPT && !success) {
            return "a valid request refused";
        }
        if (request.expect() == Expect.REJECT && status < 400) {
            return "a malformed request accepted";
        }
        if (status == 401 && !request.statuses().contains(401)) {
            return "refused as unauthenticated though it carried a valid key";
        }
        String body = answer.bodyText();
        if (LEAK.matcher(body).find()) {
            return "the answer leaks internals";
        }
        if (status == 401) {
            return unauthenticatedShapeProblem(answer);
        }
        if (status >= 400) {
            return errorShapeProblem(answer);
        }
        return null;
    }

    /** Null when the body is {@code {"code": n, "message": "..."}} or {@code {"errors": ["..."]}} in JSON. */
    static String errorShapeProblem(HostileHttp.Answer answer) {
        if (!answer.header("Content-Type").orElse("").startsWith("application/json")) {
            return "error not JSON (Content-Type "
                    + answer.header("Content-Type").orElse("none") + ")";
        }
        try {
            JsonNode body = JSON.readTree(answer.body());
            boolean codeAndMessage = body != null
                    && body.path("code").isInt()
                    && body.path("message").isTextual();
            boolean errors = body != null
                    && body.path("errors").isArray()
                    && body.path("errors").size() > 0;
            if (errors) {
                for (JsonNode error : body.path("errors")) {
                    errors &= error.isTextual();
                }
            }
            return codeAndMessage || errors ? null : "error JSON not in the API's shape";
        } catch (java.io.IOException e) {
            return "error body is not JSON";
        }
    }

    /** Null when the answer is the API's 401: its exact body and a Bearer challenge. */
    private static String unauthenticatedShapeProblem(HostileHttp.Answer answer) {
        String shape = errorShapeProblem(answer);
        if (shape != null) {
            return shape;
        }
        if (!answer.bodyText().equals(HostileRequests.UNAUTHENTICATED_BODY)) {
            return "a 401 that is not the API's";
        }
        if (!answer.header("WWW-Authenticate").orElse("").equals(HostileRequests.BEARER_CHALLENGE)) {
            return "a 401 without WWW-Authenticate: " + HostileRequests.BEARER_CHALLENGE;
        }
        return null;
    }

    private static Map<String, Long> counts() {
        return JDBI.withHandle(h -> Map.of(
                "users",
                        h.select("select count(*) from users").mapTo(Long.class).one(),
                "transactions",
                        h.select("select count(*) from transactions")
                                .mapTo(Long.class)
                                .one(),
                "imports",
                        h.select("select count(*) from imports")
                                .mapTo(Long.class)
                                .one()));
    }

    private static void awaitImportsFinished() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (JDBI.withHandle(h -> h.select("select count(*) from imports where status in ('queued', 'processing')")
                        .mapTo(Long.class)
                        .one())
                > 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("imports still running after 60 s: "
                        + JDBI.withHandle(h -> h.select(
                                        "select i.id, i.status, i.reason, i.rows_imported, i.rows_rejected, i.body_bytes, j.state "
                                                + "from imports i left join jobrunr_jobs j on j.id = i.id "
                                                + "where i.status in ('queued', 'processing')")
                                .mapToMap()
                                .list()));
            }
            Thread.sleep(100);
        }
    }
}
