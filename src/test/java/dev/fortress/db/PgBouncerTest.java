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
 * Both datasources through PgBouncer in transaction mode (127.0.0.1:6432, from bin/services),
 * declared as such: Fortress then sends no named prepared statements, and a mixed load, with
 * JobRunr, partition upkeep and imports running explicit transactions on the same pooler, sees
 * no error. {@link PgBouncerWithoutGuardTest} shows what the declaration prevents.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PgBouncerTest {

    static final String PGBOUNCER = "jdbc:postgresql://127.0.0.1:6432/";
    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            PGBOUNCER + DB.name(),
            PGBOUNCER + DB.name(),
            ConfigOverride.config("writerDatabase.transactionPooler", "true"),
            ConfigOverride.config("readerDatabase.transactionPooler", "true"),
            MixedLoad.UPLOADS);

    @Test
    void tenThousandMixedRequestsThroughTransactionPoolingHaveNoErrors() throws Exception {
        Map<Integer, Integer> statuses =
                MixedLoad.run(new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, 7)), 7, 10_000);

        assertThat(statuses.keySet()).as(statuses.toString()).isSubsetOf(200, 201, 202, 404);
        assertThat(statuses.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(10_000);
        assertThat(statuses.get(201)).isGreaterThanOrEqualTo(4_900);
        assertThat(statuses.get(202)).as("imports accepted").isEqualTo(40);
        // Each import loads one row and refuses its duplicate, in transactions through the pooler.
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(60).toNanos();
        Long done = 0L;
        while (done < 40 && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(
                    java.time.Duration.ofMillis(250).toNanos());
            done = DB.jdbi()
                    .withHandle(h -> h.select("select count(*) from imports where status = 'succeeded' "
                                    + "and rows_imported = 1 and rows_rejected = 1")
                            .mapTo(Long.class)
                            .one());
        }
        assertThat(done).isEqualTo(40);
    }
}
