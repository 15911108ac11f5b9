package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressApplication;
import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A pool with no free connection fails the request after maxWaitForConnection instead of queueing:
 * the request gives up on its own while the connection is still held.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PoolSaturationTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            java.util.stream.Stream.concat(
                            java.util.Arrays.stream(FortressApp.oneConnection("readerDatabase")),
                            java.util.stream.Stream.of(
                                    ConfigOverride.config("readerDatabase.maxWaitForConnection", "500ms")))
                    .toArray(ConfigOverride[]::new));

    @Test
    void saturatedReaderAnswers503AfterMaxWaitWithoutQueueingAndServesAgainOnceFreed() throws SQLException {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, 1));
        // Keys are looked up on the reader too: this one now, then it is trusted for auth.cacheFor,
        // so the refused request below waits for its user read, not for its key's look-up.
        assertThat(api.get("/users/1").statusCode()).isEqualTo(404);
        Databases databases = APP.<FortressApplication>getApplication().databases();
        Duration maxWait = APP.getConfiguration()
                .getReaderDatabase()
                .getMaxWaitForConnection()
                .toJavaDuration();

        HttpResponse<String> refused;
        Duration waited;
        // The pool's only connection, in use (plain JDBC: not one of the application's statements).
        try (Connection held = databases.replicas().member(0).dataSource().getConnection();
                Statement st = held.createStatement()) {
            st.execute("select 1");
            long started = System.nanoTime();
            // Answered while the connection is still held: a request that queued for it would get
            // no answer until Http's 10 s deadline, since the connection is freed only after this.
            refused = api.get("/users/1");
            waited = Duration.ofNanos(System.nanoTime() - started);
        }

        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).contains("1");
        assertThat(refused.body()).isEqualTo("{\"code\":503,\"message\":\"database unavailable, retry later\"}");
        // A floor, which load can only lengthen: it gave up by the pool's wait, not at once (the
        // pool's clock has millisecond steps, hence 50 ms of leeway).
        assertThat(waited).as("waited for a free connection first").isGreaterThanOrEqualTo(maxWait.minusMillis(50));
        assertThat(api.get("/users/1").statusCode()).isEqualTo(404);
    }

    /**
     * A key's look-up that cannot get a connection fails as the route's own reads do: 503, not a
     * 401 (the key is fine) and not a 500.
     */
    @Test
    void aKeyLookedUpOnASaturatedReaderAnswers503NotA401() throws SQLException {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, 1));
        ReplicaSet.Member reader =
                APP.<FortressApplication>getApplication().databases().replicas().member(0);
        // A saturation (the other test's) makes the replica monitor move reads to the writer for a while.
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!reader.monitor().usable() && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(
                    Duration.ofMillis(100).toNanos());
        }
        assertThat(reader.monitor().usable()).as("reads back on the reader").isTrue();

        HttpResponse<String> refused;
        try (Connection held = reader.dataSource().getConnection();
                Statement st = held.createStatement()) {
            st.execute("select 1");
            refused = api.get("/users/1"); // its key never looked up: the look-up is what waits
        }

        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).contains("1");
        assertThat(refused.body()).isEqualTo("{\"code\":503,\"message\":\"database unavailable, retry later\"}");
        assertThat(api.get("/users/1").statusCode()).isEqualTo(404);
    }
}
