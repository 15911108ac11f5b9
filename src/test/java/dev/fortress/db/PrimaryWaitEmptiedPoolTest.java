package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.Await;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A borrow that times out on a pool with nothing borrowed waits for a primary (db/PrimaryWait), as one
 * the database refused does: every slot of the pool is being opened again, not taken by callers. As at
 * a switchover, when the failed checks have emptied the writer's pool and its new connections wait for
 * a server that answers nothing yet ("Pool empty ... size:10; busy:0; idle:0" in FleetSwitchoverIT).
 * Here the writer's pool has one connection, reached through a proxy that drops it and then holds each
 * new connection, unanswered, until released. Once released, the first write keeps the connection, its
 * insert waiting for a lock the test holds, while the second write's borrows time out on a pool whose
 * one connection is borrowed: it keeps waiting (it answered 503 so once, in bin/test) and is written
 * when the lock goes.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PrimaryWaitEmptiedPoolTest {

    /** The insert waits for the test's lock, and the lock's transaction for the test, longer than the guards allow. */
    private static final TestDatabase DB = TestDatabase.create()
            .withRoleDefault("statement_timeout", "60s")
            .withRoleDefault("idle_in_transaction_session_timeout", "60s");

    private static final TcpProxy WRITER = new TcpProxy(DB.host(), DB.port());
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            WRITER.jdbcUrl(DB.name()),
            DB.url(),
            Stream.concat(
                            Stream.of(FortressApp.oneConnection("writerDatabase")),
                            Stream.of(
                                    ConfigOverride.config("writerDatabase.primaryWait", "20s"),
                                    // No writer statement of the instance's own in between (JobRunr, keys' last use).
                                    ConfigOverride.config("jobs.mode", "api"),
                                    ConfigOverride.config("auth.lastUseFlushInterval", "1h")))
                    .toArray(ConfigOverride[]::new));
    private static final String KEY = TestKeys.of(DB, 9);
    /** config.yml's writerDatabase.maxWaitForConnection: how long one borrow waits for a connection. */
    private static final Duration BORROW_TIMEOUT = Duration.ofSeconds(1);

    @AfterEach
    void restore() {
        WRITER.release();
        WRITER.restore();
    }

    @Test
    void aBorrowThatTimesOutWithNothingBorrowedWaitsForTheConnectionsBeingOpened() throws Exception {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        assertThat(post().statusCode()).as("a write before the cut").isEqualTo(201);
        long held = metrics.meter(PrimaryWaitTest.METRICS + "held");

        List<CompletableFuture<HttpResponse<String>>> writes;
        try (Handle lock = DB.jdbi().open()) {
            // The first write to get the connection keeps it, its insert waiting for this lock.
            lock.begin();
            lock.execute("lock table users in share mode");

            WRITER.cut();
            WRITER.hold();
            LockSupport.parkNanos(PrimaryWaitTest.PAST_VALIDATION.toNanos());
            writes = List.of(
                    CompletableFuture.supplyAsync(PrimaryWaitEmptiedPoolTest::post),
                    CompletableFuture.supplyAsync(PrimaryWaitEmptiedPoolTest::post));
            Await.await(
                    "a connection being opened, held unanswered, and a borrow waiting for a primary",
                    () -> WRITER.holding() >= 1 && metrics.intGauge(PrimaryWaitTest.METRICS + "waiting") >= 1,
                    waiting -> waiting);
            WRITER.release();

            Await.await(
                    "the first write's insert waiting for the lock",
                    () -> DB.sessionsWaitingOnLock("insert into users%"),
                    n -> n >= 1);
            // The other write's borrows now time out on a pool whose one connection is borrowed.
            LockSupport.parkNanos(BORROW_TIMEOUT.multipliedBy(2).toNanos());
            assertThat(writes)
                    .as("no answer while the one connection is borrowed: the second write still waits")
                    .noneMatch(CompletableFuture::isDone);
            lock.rollback();
        }

        for (CompletableFuture<HttpResponse<String>> write : writes) {
            HttpResponse<String> created = write.get(60, TimeUnit.SECONDS);
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        }
        assertThat(metrics.meter(PrimaryWaitTest.METRICS + "held"))
                .as("borrows held until a connection came")
                .isGreaterThan(held);
    }

    private static HttpResponse<String> post() {
        return PrimaryWaitTest.post(APP, KEY);
    }
}
