package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.Await;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.Serial;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import dev.fortress.testing.TestReplica;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 25: in a fleet the reader URL names every database host, one of which is the primary of the
 * moment. Here it names the primary and a streaming replica: the primary takes no reads (the
 * writer's pool is its way in), it is not counted as a fault (healthy, readiness 200, the alert's
 * gauge {@code primary} 1), and the replica takes every read. And the writer's check says which
 * server is primary and whether its commits wait for a standby (WriterRole).
 */
// Serial: counts the reads the shared replica served, which another JVM's writes can make lag.
@Serial
@ExtendWith(DropwizardExtensionsSupport.class)
class PrimaryAmongReadersTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TestReplica REPLICA = TestReplica.of(DB);
    private static final String PRIMARY = DB.host() + ":" + DB.port();
    private static final String KEY = TestKeys.of(DB, 4);
    private static final DropwizardAppExtension<FortressConfiguration> APP =
            FortressApp.on(DB, DB.url(), "jdbc:postgresql://" + PRIMARY + "," + REPLICA.name() + "/" + DB.name());

    @Test
    void thePrimaryAmongTheReadersTakesNoReadsAndIsNoFault() {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        HttpResponse<String> created = api.postJson(
                "/users",
                "{\"email\":\"among-" + System.nanoTime() + "@x.io\",\"role\":\"member\",\"orgId\":4,\"age\":33}");
        assertThat(created.statusCode()).isEqualTo(201);
        long id = ((Number) Http.json(created).get("id")).longValue();
        Await.await(
                "the replica in use, the primary not",
                () -> metrics.intGauge("dev.fortress.db.replica." + REPLICA.name() + ".in-use") + "/"
                        + metrics.intGauge("dev.fortress.db.replica." + PRIMARY + ".in-use"),
                "1/0"::equals);

        long onPrimary = metrics.meter("dev.fortress.db.replica." + PRIMARY + ".reads");
        long onReplica = metrics.meter("dev.fortress.db.replica." + REPLICA.name() + ".reads");
        for (int i = 0; i < 100; i++) {
            assertThat(Await.await(
                            "user " + id + " on the replica",
                            () -> api.get("/users/" + id).statusCode(),
                            s -> s == 200))
                    .isEqualTo(200);
        }
        assertThat(metrics.meter("dev.fortress.db.replica." + PRIMARY + ".reads"))
                .as("reads on the primary among the readers")
                .isEqualTo(onPrimary);
        assertThat(metrics.meter("dev.fortress.db.replica." + REPLICA.name() + ".reads") - onReplica)
                .as("reads on the replica")
                .isGreaterThanOrEqualTo(100);
        assertThat(metrics.intGauge("dev.fortress.db.replica." + PRIMARY + ".primary"))
                .isEqualTo(1);
        assertThat(metrics.intGauge("dev.fortress.db.replica." + REPLICA.name() + ".primary"))
                .isZero();
        HttpResponse<String> health = new Http("127.0.0.1", APP.getAdminPort()).get("/healthcheck");
        assertThat(health.body()).as("no reader check fails for the primary").doesNotContain("UNHEALTHY");
        // Readiness turns 200 once the (disabled) warm-up's check has run: awaited, not timed.
        assertThat(Await.await("readiness", () -> api.get("/health-check").statusCode(), s -> s == 200))
                .isEqualTo(200);
    }

    @Test
    void theWriterCheckSaysWhichServerIsPrimaryAndWhetherCommitsWaitForAStandby() {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        // bin/services' replicas are asynchronous: the primary names no synchronous standby.
        String expected = DB.jdbi()
                .withHandle(h -> h.select("show synchronous_standby_names")
                        .mapTo(String.class)
                        .one());
        Await.await(
                "the writer's check has run",
                () -> metrics.intGauge("dev.fortress.db.writer.synchronous"),
                s -> s >= 0);
        assertThat(metrics.intGauge("dev.fortress.db.writer.synchronous")).isEqualTo(expected.isBlank() ? 0 : 1);
        assertThat(metrics.intGauge("dev.fortress.db.writer.primary." + DB.host()))
                .as("the writer reaches " + DB.host())
                .isEqualTo(1);
        String scrape =
                new Http("127.0.0.1", APP.getAdminPort()).get("/prometheus").body();
        assertThat(scrape)
                .contains("fortress_db_writer_primary{address=\"" + DB.host() + "\",} 1.0")
                .contains("fortress_db_writer_synchronous " + (expected.isBlank() ? "0.0" : "1.0"));
        assertThat(new Http("127.0.0.1", APP.getAdminPort()).get("/healthcheck").body())
                .contains("the primary at " + DB.host());
    }
}
