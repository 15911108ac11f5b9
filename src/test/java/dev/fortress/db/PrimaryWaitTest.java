package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.Await;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code writerDatabase.primaryWait} (db/PrimaryWait): a write that finds no primary waits for one,
 * and is answered when one comes back within the wait; past the wait it answers 503 with
 * {@code Retry-After}, as without it. The writer is reached through a proxy the tests cut (connections
 * refused and open ones dropped), as a switchover leaves no primary for a few seconds. At most
 * {@code writerDatabase.primaryWaiters} wait at once: the next is answered 503 at once.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PrimaryWaitTest {

    /** writerDatabase.primaryWaiters here; the instance's own writes (a key's last use, the lag) may take a few. */
    private static final int WAITERS = 8;

    private static final TestDatabase DB = TestDatabase.create();
    private static final TcpProxy WRITER = new TcpProxy(DB.host(), DB.port());
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            WRITER.jdbcUrl(DB.name()),
            DB.url(),
            ConfigOverride.config("writerDatabase.primaryWait", "8s"),
            ConfigOverride.config("writerDatabase.primaryWaiters", String.valueOf(WAITERS)));
    private static final String KEY = TestKeys.of(DB, 9);
    static final String METRICS = "dev.fortress.db.writer.primary-wait.";
    private static final String ACTIVE_REQUESTS = "io.dropwizard.jetty.MutableServletContextHandler.active-requests";
    /** config.yml's validationInterval is 1 s: a borrow after it checks the pooled connection the cut broke. */
    static final Duration PAST_VALIDATION = Duration.ofMillis(1500);

    private static final AtomicInteger EMAILS = new AtomicInteger();

    @AfterEach
    void restore() {
        WRITER.restore();
    }

    @Test
    void aWriteThatFindsNoPrimaryWaitsForOneAndIsAnsweredWhenItComesBack() throws Exception {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        assertThat(post().statusCode()).as("a write before the cut").isEqualTo(201);
        long held = metrics.meter(METRICS + "held");

        WRITER.cut();
        LockSupport.parkNanos(PAST_VALIDATION.toNanos());
        CompletableFuture<HttpResponse<String>> write = CompletableFuture.supplyAsync(PrimaryWaitTest::post);
        Await.await(
                "the write in flight and a borrow waiting for a primary",
                () -> metrics.counter(ACTIVE_REQUESTS) >= 1 && metrics.intGauge(METRICS + "waiting") >= 1,
                waiting -> waiting);
        assertThat(write).as("no answer while there is no primary").isNotDone();
        WRITER.restore();

        HttpResponse<String> created = write.get(30, TimeUnit.SECONDS);
        assertThat(created.statusCode())
                .as("the write sent while the writer was cut: " + created.body())
                .isEqualTo(201);
        long id = Long.parseLong(created.body().replaceAll(".*\"id\":(\\d+).*", "$1"));
        long rows = DB.jdbi()
                .withHandle(h -> h.select("select count(*) from users where id = ?", id)
                        .mapTo(Long.class)
                        .one());
        assertThat(rows).as("its row").isEqualTo(1L);
        assertThat(metrics.meter(METRICS + "held"))
                .as("borrows held until a primary came")
                .isGreaterThan(held);
    }

    @Test
    void aWriteThatFindsNoPrimaryWithinTheWaitAnswers503WithRetryAfter() {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        assertThat(post().statusCode()).as("a write before the cut").isEqualTo(201);
        long failed = metrics.meter(METRICS + "failed");

        WRITER.cut();
        LockSupport.parkNanos(PAST_VALIDATION.toNanos());
        HttpResponse<String> refused = post();

        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).contains("1");
        assertThat(refused.body()).isEqualTo("{\"code\":503,\"message\":\"database unavailable, retry later\"}");
        assertThat(metrics.meter(METRICS + "failed"))
                .as("borrows that found no primary within the wait")
                .isGreaterThan(failed);
        WRITER.restore();
        Await.await("writes succeed again after the restore", () -> post().statusCode(), status -> status == 201);
    }

    @Test
    void pastPrimaryWaitersAWriteIsTurnedAwayWith503WhileTheOthersWait() throws Exception {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        assertThat(post().statusCode()).as("a write before the cut").isEqualTo(201);
        long turnedAway = metrics.meter(METRICS + "turned-away");
        int sent = WAITERS + 2;
        ExecutorService clients = Executors.newFixedThreadPool(sent);
        try {
            WRITER.cut();
            LockSupport.parkNanos(PAST_VALIDATION.toNanos());
            List<CompletableFuture<HttpResponse<String>>> writes = new ArrayList<>();
            for (int i = 0; i < sent; i++) {
                writes.add(CompletableFuture.supplyAsync(PrimaryWaitTest::post, clients));
            }
            Await.await(
                    "as many borrows waiting for a primary as primaryWaiters allows",
                    () -> metrics.intGauge(METRICS + "waiting"),
                    waiting -> waiting >= WAITERS);

            HttpResponse<String> refused = post();

            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).contains("1");
            assertThat(metrics.meter(METRICS + "turned-away"))
                    .as("borrows turned away while primaryWaiters others waited")
                    .isGreaterThan(turnedAway);
            assertThat(metrics.intGauge(METRICS + "waiting"))
                    .as("waiting: never more than primaryWaiters")
                    .isLessThanOrEqualTo(WAITERS);
            WRITER.restore();

            List<Integer> statuses = new ArrayList<>();
            for (CompletableFuture<HttpResponse<String>> write : writes) {
                statuses.add(write.get(30, TimeUnit.SECONDS).statusCode());
            }
            assertThat(statuses)
                    .as("the writes sent before it: those that waited answered when the primary came back, "
                            + "the rest turned away")
                    .allMatch(status -> status == 201 || status == 503)
                    .contains(201, 503);
        } finally {
            WRITER.restore();
            clients.shutdownNow();
        }
    }

    private static HttpResponse<String> post() {
        return post(APP, KEY);
    }

    /** POST /users of a new member of organisation 9 to {@code app}, as the caller with API key {@code key}. */
    static HttpResponse<String> post(DropwizardAppExtension<FortressConfiguration> app, String key) {
        String json = "{\"email\":\"primary-wait" + EMAILS.incrementAndGet() + "@x.io\",\"role\":\"member\","
                + "\"orgId\":9,\"age\":33}";
        return new Http("127.0.0.1", app.getLocalPort()).as(key).postJson("/users", json);
    }
}
