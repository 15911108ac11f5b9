package dev.fortress.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.OwnedPgBouncer;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A write without a key that PgBouncer refused to pass on, because its logins to the server have been
 * failing (08P01 "server login has been failing": it had no server for the write's transaction, so
 * nothing of it reached PostgreSQL), is run once more by the server, on a connection to the primary.
 * As in the fleet at a switchover, where the demoted primary's PgBouncer answers so while that server
 * restarts as a standby (docs/design/failover.md). Here the writer's URL names this test's PgBouncer
 * first and the primary second, and the PgBouncer is sent to a database its server does not have by a
 * reload; another client's query first makes PgBouncer try a login and fail (PgBouncer fails a client
 * at once only after a failed login), then the write comes.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PoolerLoginFailingRetryTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedPgBouncer BOUNCER = new OwnedPgBouncer(DB);
    private static final DropwizardAppExtension<FortressConfiguration> APP = RetryTests.writingThrough(BOUNCER, DB);
    private static final String KEY = TestKeys.of(DB, 9);

    @AfterAll
    static void stopBouncer() {
        BOUNCER.close();
    }

    @Test
    void aWriteThePoolerRefusedToPassOnIsRunAgainOnThePrimaryAndWritesOneRow() throws Exception {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        assertThat(RetryTests.postUser(APP, KEY, "before", null).statusCode())
                .as("a write before the change")
                .isEqualTo(201);
        long retried = metrics.meter(RetryTests.RETRIED);

        BOUNCER.failLogins();
        // Its own thread, left waiting: it ends when PgBouncer gives up on it or stops (stopBouncer).
        Thread waiting = new Thread(PoolerLoginFailingRetryTest::queryThroughBouncer, "query-through-failing-bouncer");
        waiting.setDaemon(true);
        waiting.start();
        BOUNCER.awaitFailedLogin();
        HttpResponse<String> created = RetryTests.postUser(APP, KEY, "after", null);

        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(metrics.meter(RetryTests.RETRIED)).as("writes run again").isEqualTo(retried + 1);
        assertThat(RetryTests.usersWithEmail(DB, "after"))
                .as("rows with its email, on the primary")
                .isEqualTo(1L);
    }

    /** A query of another client, waiting in PgBouncer's queue for a login that fails (until it gives up). */
    private static void queryThroughBouncer() {
        Properties login = new Properties();
        login.setProperty("user", DB.user());
        login.setProperty("password", DB.password());
        login.setProperty("socketTimeout", "30");
        try (Connection connection = DriverManager.getConnection(BOUNCER.jdbcUrl(DB.name()), login)) {
            connection.createStatement().execute("select 1");
        } catch (SQLException expected) {
            // refused, or given up: what counts is the login PgBouncer tried for it
        }
    }
}
