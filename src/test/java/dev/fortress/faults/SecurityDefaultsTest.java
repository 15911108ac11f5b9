package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.auth.ApiKeyFormat;
import dev.fortress.testing.ChildFortress;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.HostileHttp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 9, security defaults, one group each: the admin connector and the JobRunr dashboard on
 * loopback unless configured otherwise; the JobRunr dashboard only with credentials; secrets from
 * the environment and never in logs or admin output, API keys never in logs; no stack traces or SQL
 * in any error (500 and 503 included); a size limit on every route. The first four run against a
 * Fortress in its own JVM, started from the environment alone as an operator would; the last two
 * against one in this JVM whose writer sits behind a TCP proxy the test can cut. Both are called
 * with keys made on the test database.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecurityDefaultsTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final Jdbi JDBI = DB.jdbi();
    private static final TcpProxy WRITER = new TcpProxy(DB.host(), DB.port());
    private static final int DISABLED_DASHBOARD_PORT = ChildFortress.freePort();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            WRITER.jdbcUrl(DB.name()),
            DB.url(),
            ConfigOverride.config("imports.maxUploadSize", "64KiB"),
            ConfigOverride.config("jobs.dashboardPort", String.valueOf(DISABLED_DASHBOARD_PORT)),
            ConfigOverride.config("jobs.dashboardUser", ""),
            ConfigOverride.config("redis.url", "redis://127.0.0.1:6379/11"));

    private static final String DB_SECRET = "db-" + secret();
    private static final String DASHBOARD_SECRET = "dash-" + secret();
    /** The key the in-process app is called with, and the child's, of organisation 1. */
    private static final String KEY = TestKeys.of(DB, 1);

    private static final String CHILD_KEY = TestKeys.of(DB, 1);
    private static ChildFortress child;

    /** Stack frames, exception class names, SQL and driver text: what an error must never show. */
    private static final Pattern LEAK = Pattern.compile(
            "Exception|\\tat |\\.java:\\d|org\\.postgresql|org\\.jdbi|"
                    + "SQLState|ERROR: |syntax error|relation |select |insert |update |delete |users_moved|jakarta\\.|"
                    + "org\\.eclipse|dev\\.fortress|Caused by",
            Pattern.CASE_INSENSITIVE);

    @BeforeAll
    static void startChild() {
        Map<String, String> env = ChildFortress.environment(DB);
        // Trust authentication here accepts any password: a distinctive one shows where it would leak.
        env.put("DATABASE_PASSWORD", DB_SECRET);
        env.put("JOBRUNR_DASHBOARD_USER", "ops");
        env.put("JOBRUNR_DASHBOARD_PASSWORD", DASHBOARD_SECRET);
        env.put("REDIS_URL", "redis://127.0.0.1:6379/11");
        env.put("SHUTDOWN_DRAIN_PERIOD", "0s");
        env.put("LOG_LEVEL", "DEBUG"); // the most a log ever says; secrets must not be in it either
        env.put("FORTRESS_LOG_LEVEL", "DEBUG");
        env.put("REQUEST_LOG", "true"); // and every request's line
        child = ChildFortress.start("security", env);
    }

    @AfterAll
    static void stopChild() {
        if (child != null) {
            child.close();
        }
        WRITER.close();
    }

    @Test
    void adminConnectorAndJobRunrDashboardListenOnLoopbackUnlessConfiguredOtherwise() throws IOException {
        String log = child.log();
        assertThat(log)
                .as("ADMIN_BIND_HOST unset: the admin connector binds 127.0.0.1")
                .containsPattern("Started admin@\\w+\\{HTTP/1\\.1, \\(http/1\\.1\\)\\}\\{127\\.0\\.0\\.1:"
                        + child.adminPort() + "}")
                .containsPattern("Started application@\\w+\\{HTTP/1\\.1, \\(http/1\\.1\\)\\}\\{0\\.0\\.0\\.0:"
                        + child.port() + "}");
        assertThat(Files.readString(Path.of(FortressApp.configPath())))
                .contains("bindHost: ${ADMIN_BIND_HOST:-127.0.0.1}");
        Optional<InetAddress> external = nonLoopbackAddress();
        if (external.isPresent()) {
            // From another interface the application port answers and the admin port does not.
            assertThat(connects(external.get(), child.port()))
                    .as("application on " + external.get())
                    .isTrue();
            assertThat(connects(external.get(), child.adminPort()))
                    .as("admin on " + external.get())
                    .isFalse();
        }
        assertThat(connects(InetAddress.getLoopbackAddress(), child.adminPort()))
                .isTrue();

        // The dashboard takes no API key either: it binds the admin connector's host.
        int dashboardPort = Integer.parseInt(child.environment().get("JOBRUNR_DASHBOARD_PORT"));
        assertThat(log)
                .as("ADMIN_BIND_HOST unset: the JobRunr dashboard binds 127.0.0.1")
                .contains("JobRunr dashboard on /127.0.0.1:" + dashboardPort + " (basic authentication)");
        assertThat(Files.readString(Path.of(FortressApp.configPath())))
                .contains("dashboardBindHost: ${ADMIN_BIND_HOST:-127.0.0.1}");
        if (external.isPresent()) {
            assertThat(connects(external.get(), dashboardPort))
                    .as("dashboard on " + external.get())
                    .isFalse();
        }
        assertThat(connects(InetAddress.getLoopbackAddress(), dashboardPort)).isTrue();
    }

    /** ImportsAppTest checks the dashboard set up from config overrides; this one from the environment, as deployed. */
    @Test
    void jobRunrDashboardNeedsTheCredentialsFromTheEnvironment() {
        int port = Integer.parseInt(child.environment().get("JOBRUNR_DASHBOARD_PORT"));
        Http dashboard = new Http("127.0.0.1", port);

        assertThat(dashboard.get("/dashboard").statusCode())
                .as("no credentials")
                .isEqualTo(401);
        assertThat(dashboard.get("/api/jobs?state=SUCCEEDED").statusCode())
                .as("the API behind it too")
                .isEqualTo(401);
        assertThat(dashboard
                        .send(authorized(dashboard, "/dashboard", "ops:wrong"))
                        .statusCode())
                .isEqualTo(401);
        assertThat(dashboard
                        .send(authorized(dashboard, "/dashboard", "admin:" + DASHBOARD_SECRET))
                        .statusCode())
                .as("right password, wrong user")
                .isEqualTo(401);
        assertThat(dashboard
                        .send(authorized(dashboard, "/dashboard", "ops:" + DASHBOARD_SECRET))
                        .statusCode())
                .isEqualTo(200);
        // Without credentials (the in-process app has none) the dashboard does not listen at all.
        assertThat(connects(InetAddress.getLoopbackAddress(), DISABLED_DASHBOARD_PORT))
                .isFalse();
    }

    @Test
    void secretsComeFromTheEnvironmentAndNeverAppearInLogsOrAdminOutput() throws IOException {
        assertThat(Files.readAllLines(Path.of(FortressApp.configPath())).stream()
                        .filter(line -> line.strip().matches("(?i)[a-z]*password:.*")))
                .as("every password in config.yml is an environment variable")
                .isNotEmpty()
                .allSatisfy(line -> assertThat(line.strip()).matches("(?i)[a-z]*password: \\$\\{[A-Z_]+:-[a-z]*}"));

        List<String> outputs = new ArrayList<>();
        Http admin = child.admin();
        for (String path : List.of("/tasks", "/healthcheck", "/metrics", "/prometheus", "/threads", "/ping")) {
            HttpResponse<String> answer = admin.get(path);
            outputs.add("GET " + path + " " + answer.statusCode() + ": " + answer.body());
        }
        for (String task : List.of("gc", "partitions", "log-level?logger=dev.fortress&level=DEBUG")) {
            HttpResponse<String> answer = admin.send(
                    HttpRequest.newBuilder(admin.uri("/tasks/" + task)).POST(HttpRequest.BodyPublishers.noBody()));
            assertThat(answer.statusCode()).as("POST /tasks/" + task).isLessThan(500);
            outputs.add("POST /tasks/" + task + " " + answer.statusCode() + ": " + answer.body());
        }
        Http api = child.api().as(CHILD_KEY);
        outputs.add(api.get("/health-check").body());
        outputs.add(
                api.postJson("/users", "{\"email\":\"secret-check@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":30}")
                        .body());
        outputs.add(api.get("/users/1").body());
        Http dashboard =
                new Http("127.0.0.1", Integer.parseInt(child.environment().get("JOBRUNR_DASHBOARD_PORT")));
        outputs.add(dashboard
                .send(authorized(dashboard, "/api/servers", "ops:" + DASHBOARD_SECRET))
                .body());
        String cmdline = Files.readString(Path.of("/proc", String.valueOf(child.pid()), "cmdline"));

        assertThat(outputs.get(0)).as("GET /tasks lists the tasks").contains("partitions");
        assertThat(String.join("\n", outputs)).doesNotContain(DB_SECRET).doesNotContain(DASHBOARD_SECRET);
        assertThat(cmdline)
                .as("secrets are not command-line arguments (ps shows those)")
                .doesNotContain(DB_SECRET)
                .doesNotContain(DASHBOARD_SECRET);
        String log = child.log();
        assertThat(log).as("the child logged at DEBUG").contains("DEBUG");
        assertThat(log)
                .as("start-up and request log " + child.logFile())
                .doesNotContain(DB_SECRET)
                .doesNotContain(DASHBOARD_SECRET);
    }

    /**
     * A key is a secret too: the logs may name it by its prefix (what {@code keys list} shows),
     * never more of it, whether it was served, refused for its scope, or sent with one character
     * changed (which would give most of a real key away).
     */
    @Test
    void apiKeysNeverAppearInLogs() {
        String key = TestKeys.of(DB, 1);
        String readOnly = TestKeys.of(DB, 1, "read");
        String altered = key.substring(0, key.length() - 1) + (key.endsWith("A") ? "B" : "A");
        Http api = child.api().as(key);
        String run = Long.toHexString(System.nanoTime());
        HttpResponse<String> created = api.postJson(
                "/users", "{\"email\":\"key-log-" + run + "@x.io\"," + "\"role\":\"member\",\"orgId\":1,\"age\":30}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        Object userId = Http.json(created).get("id");
        assertThat(api.get("/users/" + userId).statusCode()).isEqualTo(200);
        assertThat(api.get("/orgs/1/stats").statusCode()).isEqualTo(200);
        assertThat(api.get("/transactions?limit=1").statusCode()).isEqualTo(200);
        HttpResponse<String> imported = api.send(HttpRequest.newBuilder(api.uri("/imports"))
                .header("Content-Type", "text/csv")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "email,role,org_id,age\nkey-log-import-" + run + "@x.io,viewer,1,40\n")));
        assertThat(imported.statusCode()).as(imported.body()).isEqualTo(202);
        assertThat(api.get("/imports/" + Http.json(imported).get("importId")).statusCode())
                .isEqualTo(200);
        assertThat(child.api()
                        .as(readOnly)
                        .postJson(
                                "/users",
                                "{\"email\":\"key-log-ro-" + run + "@x.io\","
                                        + "\"role\":\"member\",\"orgId\":1,\"age\":30}")
                        .statusCode())
                .isEqualTo(403);
        assertThat(child.api().as(altered).get("/users/" + userId).statusCode()).isEqualTo(401);
        assertThat(child.api().as(altered).postJson("/users", "{}").statusCode())
                .isEqualTo(401);
        // The request log's line for the last call says it has been written (the log is asynchronous).
        String last = "GET /users/" + userId + "?probe=" + run;
        assertThat(child.api().get(last.substring(4)).statusCode()).isEqualTo(401);
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(20).toNanos();
        while (!child.log().contains(last) && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(
                    java.time.Duration.ofMillis(100).toNanos());
        }

        List<String> lines = child.log().lines().toList();
        assertThat(lines).as("the request log of " + child.logFile()).anyMatch(line -> line.contains(last));
        // The shown prefix and one character more: already more than a log may say.
        List<String> moreThanShown = java.util.stream.Stream.of(key, readOnly, altered)
                .map(secret -> secret.substring(0, ApiKeyFormat.shown(secret).length() + 1))
                .toList();
        assertThat(lines.stream().filter(line -> moreThanShown.stream().anyMatch(line::contains)))
                .as("log lines with more of a key than its prefix, in " + child.logFile())
                .isEmpty();
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void errorsNeverShowStackTracesOrSqlNotEvenA500OrA503() {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
        long id = JDBI.withHandle(h -> h.select("insert into users (email, role, org_id, age) "
                        + "values ('leak@x.io', 'member', 1, 30) returning id")
                .mapTo(Long.class)
                .one());
        List<HttpResponse<String>> errors = new ArrayList<>();

        // 500: the database answers with an error that is no outage (its table is gone).
        JDBI.useHandle(h -> h.execute("alter table users rename to users_moved"));
        try {
            errors.add(expect(500, api.get("/users/" + id)));
            errors.add(expect(
                    500,
                    api.postJson("/users", "{\"email\":\"e500@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":30}")));
        } finally {
            JDBI.useHandle(h -> h.execute("alter table users_moved rename to users"));
        }
        // The ordinary refusals.
        errors.add(expect(400, api.postJson("/users", "{not json")));
        errors.add(expect(400, api.postJson("/users", "{\"email\":\"x@x.io\",\"email\":\"y@x.io\"}")));
        errors.add(expect(422, api.postJson("/users", "{\"email\":\"x\",\"role\":\"admin\",\"orgId\":1,\"age\":30}")));
        errors.add(expect(404, api.get("/users/999999999")));
        errors.add(expect(404, api.get("/no/such/route")));
        errors.add(
                expect(405, api.send(HttpRequest.newBuilder(api.uri("/users/1")).DELETE())));
        errors.add(expect(
                415,
                api.send(HttpRequest.newBuilder(api.uri("/users"))
                        .header("Content-Type", "text/plain")
                        .POST(HttpRequest.BodyPublishers.ofString("x")))));
        errors.add(expect(400, api.get("/transactions?from=" + "%2B294277-01-01T00:00:00Z")));
        // And those of the key: none, one without the scope, a body naming another organisation.
        errors.add(expect(401, api.anonymous().get("/users/" + id)));
        errors.add(expect(401, api.anonymous().postJson("/users", "{not json")));
        errors.add(expect(
                403,
                new Http("127.0.0.1", APP.getLocalPort())
                        .as(TestKeys.of(DB, 1, "read"))
                        .postJson("/users", "{\"email\":\"ro@x.io\",\"role\":\"member\",\"orgId\":1,\"age\":30}")));
        errors.add(expect(
                403,
                api.postJson("/users", "{\"email\":\"other@x.io\",\"role\":\"member\",\"orgId\":2," + "\"age\":30}")));
        // 503: the writer is unreachable. Not restored: the proxy's port, once freed, can be taken by
        // any outgoing connection on a busy machine; so this test runs last (@Order).
        WRITER.cut();
        HttpResponse<String> unavailable = expect(
                503, api.postJson("/users", "{\"email\":\"e503@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":30}"));
        assertThat(unavailable.headers().firstValue("Retry-After")).isPresent();
        errors.add(unavailable);

        for (HttpResponse<String> error : errors) {
            assertThat(error.headers().firstValue("Content-Type"))
                    .as(error.body())
                    .hasValue("application/json");
            assertThat(error.body())
                    .as("%s %s", error.request().uri(), error.body())
                    .matches("\\{\"code\":\\d{3},\"message\":\"[^\"]+\"}|\\{\"errors\":\\[\"[^\"]+\"(,\"[^\"]+\")*]}")
                    .doesNotContainPattern(LEAK);
        }
        assertThat(errors.get(0).body())
                .as("the client can quote an id the log carries")
                .containsPattern(
                        "\"There was an error processing your request. It has been logged \\(ID [0-9a-f]+\\).\"");
    }

    @Test
    void everyRouteRefusesRequestsOverItsSizeLimit() {
        HostileHttp raw = new HostileHttp("127.0.0.1", APP.getLocalPort());
        String key = "Authorization: Bearer " + KEY + "\r\n";
        Map<String, Long> bodyLimits = Map.of("/users", 16L * 1024, "/transactions", 4L * 1024, "/imports", 64L * 1024);
        bodyLimits.forEach((path, limit) -> {
            String type = path.equals("/imports") ? "text/csv" : "application/json";
            HostileHttp.Answer declared = raw.exchange(("POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                            + key + "Content-Type: " + type + "\r\nContent-Length: " + (limit + 1) + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(declared.status())
                    .as("POST %s declaring %d bytes: %s", path, limit + 1, declared)
                    .isEqualTo(413);
            assertThat(HostileInputTest.errorShapeProblem(declared)).isNull();
            HostileHttp.Answer withinLimit =
                    raw.exchange(("POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + key
                                    + "Content-Type: " + type + "\r\nContent-Length: 2\r\n\r\n{}")
                            .getBytes(StandardCharsets.US_ASCII));
            assertThat(withinLimit.status())
                    .as("a small body is read: %s", withinLimit)
                    .isNotEqualTo(413)
                    .isLessThan(500);
        });
        String huge = "9".repeat(64 * 1024);
        for (String target : List.of(
                "/users/" + huge,
                "/orgs/" + huge + "/stats",
                "/transactions?from=" + huge,
                "/transactions/summary?to=" + huge,
                "/imports/" + huge)) {
            HostileHttp.Answer answer =
                    raw.exchange(("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + key + "\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            assertThat(answer.status())
                    .as("GET %s... (64 KB): %s", target.substring(0, 20), answer)
                    .isIn(414, 431);
            assertThat(HostileInputTest.errorShapeProblem(answer)).isNull();
        }
        HostileHttp.Answer header = raw.exchange(("GET /users/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + key
                        + "X-Big: " + "a".repeat(64 * 1024) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        assertThat(header.status()).as("a 64 KB header: %s", header).isEqualTo(431);
        assertThat(HostileInputTest.errorShapeProblem(header)).isNull();
    }

    private static HttpResponse<String> expect(int status, HttpResponse<String> response) {
        assertThat(response.statusCode())
                .as("%s %s", response.request().uri(), response.body())
                .isEqualTo(status);
        return response;
    }

    private static HttpRequest.Builder authorized(Http http, String path, String credentials) {
        return HttpRequest.newBuilder(http.uri(path))
                .header(
                        "Authorization",
                        "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8)));
    }

    private static boolean connects(InetAddress address, int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address, port), 1_000);
            return true;
        } catch (IOException refused) {
            return false;
        }
    }

    private static Optional<InetAddress> nonLoopbackAddress() throws IOException {
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (nic.isUp() && !nic.isLoopback()) {
                for (InetAddress address : Collections.list(nic.getInetAddresses())) {
                    if (address instanceof Inet4Address) {
                        return Optional.of(address);
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static String secret() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
    }
}
