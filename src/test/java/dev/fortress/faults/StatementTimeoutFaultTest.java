package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The role's statement_timeout (changeset 15) holds for the application through PgBouncer in
 * transaction mode, where a SET per client connection would not: a write that waits on a lock past
 * it is cancelled by the server, answered 503 with Retry-After in the API's error shape, counted
 * per pool, and leaves nothing written.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class StatementTimeoutFaultTest {

    private static final String PGBOUNCER = "jdbc:postgresql://127.0.0.1:6432/";
    private static final long ORG = 23;
    private static final TestDatabase DB = TestDatabase.create();
    private static final String KEY = TestKeys.of(DB, ORG);
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            PGBOUNCER + DB.name(),
            PGBOUNCER + DB.name(),
            ConfigOverride.config("writerDatabase.transactionPooler", "true"),
            ConfigOverride.config("readerDatabase.transactionPooler", "true"));

    private static Jdbi throughPgBouncer() {
        Properties props = new Properties();
        props.setProperty("user", DB.user());
        props.setProperty("password", DB.password());
        props.setProperty("prepareThreshold", "0");
        return Jdbi.create(PGBOUNCER + DB.name(), props);
    }

    @Test
    void theRolesGuardsHoldOnDirectAndPooledSessions() {
        for (Jdbi jdbi : new Jdbi[] {DB.jdbi(), throughPgBouncer()}) {
            Map<String, Object> settings =
                    jdbi.withHandle(h -> h.createQuery("select current_setting('statement_timeout') as statement, "
                                    + "current_setting('idle_in_transaction_session_timeout') as idle")
                            .mapToMap()
                            .one());
            assertThat(settings).containsEntry("statement", "5s").containsEntry("idle", "10s");
        }
    }

    @Test
    void aWritePastTheStatementTimeoutAnswers503AndIsCountedAndWritesNothing() throws Exception {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        long timeoutsBefore = metrics.meter("dev.fortress.db.writer.statement-timeouts");
        String email = "timeout-" + System.nanoTime() + "@x.io";
        HttpResponse<String> answer;
        try (Handle locker = DB.jdbi().open()) {
            // The holder idles in its transaction while the request waits: keep its own guard off.
            locker.execute("set idle_in_transaction_session_timeout = 0");
            locker.begin();
            locker.execute("lock table users in share mode"); // the INSERT waits; lock waits count
            CompletableFuture<HttpResponse<String>> post = CompletableFuture.supplyAsync(() -> api.postJson(
                    "/users", "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":" + ORG + ",\"age\":30}"));
            // Were the timeout not in force, the INSERT would wait for the lock as long as it is
            // held, and the 10 s client would give up: the lock goes after 20 s at most.
            try {
                answer = post.get(20, TimeUnit.SECONDS);
            } finally {
                locker.rollback();
            }
        }

        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(503);
        assertThat(answer.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(Http.json(answer))
                .containsEntry("code", 503)
                .containsEntry("message", "the database did not answer in time, retry later");
        assertThat(metrics.meter("dev.fortress.db.writer.statement-timeouts")).isEqualTo(timeoutsBefore + 1);
        long written = DB.jdbi()
                .withHandle(h -> h.createQuery("select count(*) from users where email = :email")
                        .bind("email", email)
                        .mapTo(Long.class)
                        .one());
        assertThat(written).as("nothing written").isZero();
        // The route itself is fine once nothing holds the lock.
        assertThat(api.postJson(
                                "/users",
                                "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":" + ORG + ",\"age\":30}")
                        .statusCode())
                .isEqualTo(201);
    }
}
