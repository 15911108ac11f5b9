package dev.fortress;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The packaged service on the real config.yml, driven over HTTP as a client would. */
@ExtendWith(DropwizardExtensionsSupport.class)
class FortressAppTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB);
    /** The organisation every request here calls as (a key of it made on the test database). */
    private static final long ORG = 7;

    private static final String KEY = TestKeys.of(DB, ORG);

    private Http api() {
        return new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
    }

    private AdminMetrics metrics() {
        return new AdminMetrics(APP.getAdminPort());
    }

    private Map<String, Object> admin(String path) {
        return Http.json(new Http("127.0.0.1", APP.getAdminPort()).get(path));
    }

    private HttpResponse<String> post(String json) {
        return api().postJson("/users", json);
    }

    @Test
    void apiExamplesAnswerAsDocumented() {
        HttpResponse<String> created = post("{\"email\":\"a@x.io\",\"role\":\"member\",\"orgId\":7,\"age\":31}");
        assertThat(created.statusCode()).isEqualTo(201);
        Map<String, Object> user = Http.json(created);
        assertThat(user)
                .containsEntry("email", "a@x.io")
                .containsEntry("role", "member")
                .containsEntry("orgId", 7)
                .containsEntry("age", 31)
                .containsKey("id");
        assertThat(created.headers().firstValue("Location"))
                .hasValueSatisfying(location -> assertThat(location).endsWith("/users/" + user.get("id")));

        HttpResponse<String> read = api().get("/users/" + user.get("id"));
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(Http.json(read)).isEqualTo(user);

        assertThat(post("{\"email\":\"A@X.IO\",\"role\":\"member\",\"orgId\":7,\"age\":31}")
                        .statusCode())
                .isEqualTo(409);
        assertThat(post("{\"email\":\"b@x.io\",\"role\":\"member\",\"orgId\":7,\"age\":200}")
                        .statusCode())
                .isEqualTo(422);
        assertThat(post("{not json").statusCode()).isEqualTo(400);
        assertThat(api().get("/users/999999999").statusCode()).isEqualTo(404);
        assertThat(api().get("/users/abc").statusCode()).isEqualTo(404);

        HttpResponse<String> anonymous = api().anonymous().get("/users/" + user.get("id"));
        assertThat(anonymous.statusCode()).as("no key").isEqualTo(401);
        assertThat(anonymous.body())
                .isEqualTo("{\"code\":401,\"message\":\"Credentials are required to access this resource.\"}");
        assertThat(anonymous.headers().firstValue("WWW-Authenticate")).contains("Bearer realm=\"fortress\"");
    }

    /**
     * A database error that is no outage reaches DatabaseExceptionMapper's 500: the insert breaks a
     * check constraint this test adds for the one request. The body carries a log id and nothing of
     * the statement, the constraint or a stack; the other refusals carry none of them either.
     */
    @Test
    void errorsNeverLeakSqlOrStackTraces() {
        DB.jdbi().useHandle(h -> h.execute("alter table users add constraint leak_probe_no_age_99 check (age <> 99)"));
        HttpResponse<String> failed;
        try {
            failed = post("{\"email\":\"leak@x.io\",\"role\":\"member\",\"orgId\":7,\"age\":99}");
        } finally {
            DB.jdbi().useHandle(h -> h.execute("alter table users drop constraint leak_probe_no_age_99"));
        }
        assertThat(failed.statusCode()).isEqualTo(500);
        assertThat((String) Http.json(failed).get("message"))
                .matches("There was an error processing your request\\. It has been logged \\(ID [0-9a-f]+\\)\\.");

        String bodies = failed.body()
                + post("{\"email\":\"c@x.io\",\"role\":\"member\",\"orgId\":7,\"age\":-1}")
                        .body()
                + post("{\"email\":\"c@x.io\",\"role\":\"member\",\"orgId\":7,\"age\":\"x\"}")
                        .body()
                + api().get("/users/abc").body();
        assertThat(bodies)
                .doesNotContainIgnoringCase("select")
                .doesNotContainIgnoringCase("insert")
                .doesNotContain("leak_probe")
                .doesNotContainIgnoringCase("constraint")
                .doesNotContain("Exception")
                .doesNotContain("at dev.")
                .doesNotContain("at com.");
    }

    @Test
    void healthChecksNameBothDatasourcesAndAreHealthy() {
        Map<String, Object> health = admin("/healthcheck");

        assertThat(((Map<?, ?>) health.get("writer")).get("healthy")).isEqualTo(true);
        assertThat(((Map<?, ?>) health.get("reader")).get("healthy")).isEqualTo(true);
        assertThat((String) ((Map<?, ?>) health.get("writer")).get("message"))
                .startsWith("writer: PostgreSQL 1")
                .contains("/" + DB.name())
                .contains("max 10");
        assertThat((String) ((Map<?, ?>) health.get("reader")).get("message")).contains("max 20");
    }

    @Test
    void statementTimersMoveOnTheDatasourceThatRanThem() {
        long reads = metrics().timerCount("dev.fortress.db.reader.UserReadDao.findById");
        long writes = metrics().timerCount("dev.fortress.db.writer.UserWriteDao.insert");

        api().get("/users/1");
        post("{\"email\":\"timed@x.io\",\"role\":\"viewer\",\"orgId\":7,\"age\":44}");

        assertThat(metrics().timerCount("dev.fortress.db.reader.UserReadDao.findById"))
                .isEqualTo(reads + 1);
        assertThat(metrics().timerCount("dev.fortress.db.writer.UserWriteDao.insert"))
                .isEqualTo(writes + 1);
        assertThat(metrics().timerCount("dev.fortress.db.writer.UserReadDao.findById"))
                .isZero();
    }
}
