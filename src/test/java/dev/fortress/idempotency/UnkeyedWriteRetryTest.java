package dev.fortress.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.OwnedPgBouncer;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import dev.fortress.testing.TestReplica;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A write without a key whose statement reached a standby (25006: refused before it changed anything)
 * is run once more by the server, on a connection to the primary. As in the fleet after a switchover: the writer's pooled
 * connections lead through a PgBouncer whose server is a standby now. Here the writer's URL names
 * this test's PgBouncer first and the primary second ({@code targetServerType=primary}), and the
 * PgBouncer is sent to a streaming replica of the test database by a reload, its client connections
 * kept; the pool checks a connection only after an hour, so the next write meets the standby on its
 * statement.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class UnkeyedWriteRetryTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedPgBouncer BOUNCER = new OwnedPgBouncer(DB);
    private static final DropwizardAppExtension<FortressConfiguration> APP = RetryTests.writingThrough(BOUNCER, DB);
    private static final String KEY = TestKeys.of(DB, 9);

    @AfterEach
    void restore() {
        BOUNCER.retarget(DB.port());
    }

    @Test
    void aWriteRefusedByAStandbyIsRunAgainOnThePrimaryAndWritesOneRow() {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        assertThat(RetryTests.postUser(APP, KEY, "before", null).statusCode())
                .as("a write before the change")
                .isEqualTo(201);
        long retried = metrics.meter(RetryTests.RETRIED);
        TestReplica replica = TestReplica.of(DB);
        replica.awaitCaughtUp();

        BOUNCER.retarget(replica.port());
        HttpResponse<String> created = RetryTests.postUser(APP, KEY, "after", null);

        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(metrics.meter(RetryTests.RETRIED)).as("writes run again").isEqualTo(retried + 1);
        assertThat(RetryTests.usersWithEmail(DB, "after"))
                .as("rows with its email, on the primary")
                .isEqualTo(1L);
    }
}
