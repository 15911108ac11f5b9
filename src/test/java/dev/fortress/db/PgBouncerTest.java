package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.MixedLoad;
import dev.fortress.testing.TestDatabase;
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
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB,
            PGBOUNCER + DB.name(), PGBOUNCER + DB.name(),
            ConfigOverride.config("writerDatabase.transactionPooler", "true"),
            ConfigOverride.config("readerDatabase.transactionPooler", "true"));

    @Test
    void tenThousandMixedRequestsThroughTransactionPoolingHaveNoErrors() throws Exception {
        Map<Integer, Integer> statuses = MixedLoad.run(APP.getLocalPort(), 10_000);

        assertThat(statuses.keySet()).as(statuses.toString()).isSubsetOf(200, 201, 404);
        assertThat(statuses.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(10_000);
        assertThat(statuses.get(201)).isGreaterThanOrEqualTo(5_000);
    }
}
