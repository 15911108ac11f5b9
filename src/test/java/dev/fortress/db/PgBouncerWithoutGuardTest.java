package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.MixedLoad;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The expected failure: the reader goes through PgBouncer in transaction mode but is NOT declared
 * as pooled, and keeps the driver's default prepareThreshold (5). After five executions on a
 * connection the driver names its statements, and PgBouncer hands those names to other clients'
 * server connections: reads fail. A read failing with 26000 or 42P05 (no such statement, or one of
 * that name already there) answers 500; one failing with 08P01 (a Bind naming another client's
 * statement, with the wrong number of parameters, which looks like a broken connection) runs again on
 * the writer, and when the replica monitor's own check fails so, reads avoid the reader until its next
 * check. Which of the two a run shows depends on timing (CI once saw no 500 at all: the monitor had
 * moved every read to the writer), so the test counts both. (The writer stays direct so that the app
 * itself starts.)
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PgBouncerWithoutGuardTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            DB.url(),
            PgBouncerTest.PGBOUNCER + DB.name(),
            ConfigOverride.config("readerDatabase.transactionPooler", "false"),
            ConfigOverride.config("readerDatabase.properties.prepareThreshold", "5"));

    @Test
    void withoutTheGuardNamedPreparedStatementsBreakThroughTransactionPooling() throws Exception {
        Map<Integer, Integer> statuses =
                MixedLoad.run(new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, 7)), 7, 4_000);

        long movedToWriter = APP.getEnvironment()
                .metrics()
                .meter("dev.fortress.db.reads-on-writer")
                .getCount();

        // With the guard (PgBouncerTest) neither happens: no 500, and no read leaves the reader.
        assertThat(statuses.getOrDefault(500, 0) + movedToWriter)
                .as(statuses + ", reads moved to the writer: " + movedToWriter)
                .isPositive();
    }
}
