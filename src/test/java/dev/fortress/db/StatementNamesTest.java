package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.FortressConfiguration;
import dev.fortress.ops.Prometheus;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import dev.fortress.testing.TestReplica;
import dev.fortress.transactions.TransactionSeeder;
import dev.fortress.transactions.TransactionsConfiguration;
import dev.fortress.users.UserSeeder;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every statement the application runs is exported by name ({@code Dao.method}), never as
 * {@code sql.raw}: driven through its routes, admin tasks and health checks, with reads on the
 * first streaming replica so that the replica monitor measures a real standby. Uploads and import jobs are left to
 * ImportsAppTest (FortressApp fails any full-app test class whose traffic leaves a sql.raw timer).
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class StatementNamesTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TestReplica REPLICA = TestReplica.of(DB);
    /** Made before the app starts, so the replica has it when it is first looked up. */
    private static final String KEY = TestKeys.of(DB, 7);
    /** How often the app writes the last use of keys (ApiKeyDao.used): config.yml's minimum, to wait less. */
    private static final Duration LAST_USE_FLUSH = Duration.ofSeconds(1);

    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            DB.url(),
            REPLICA.url(),
            // A Redis database no other class uses: OrgStatsAppTest empties its own (15).
            ConfigOverride.config("redis.url", "redis://127.0.0.1:6379/13"),
            ConfigOverride.config("auth.lastUseFlushInterval", LAST_USE_FLUSH.toSeconds() + "s"),
            // The reader's statements must be timed on the replica: a burst of another test JVM's writes
            // (an import) must not make it look lagging and send them to the writer.
            ConfigOverride.config("replica.maxLag", "1GiB"),
            ConfigOverride.config("replica.maxLagTime", "1h"));

    /** {@code fortress_db_statement_duration_seconds_count{pool="writer",statement="PartitionsDao.create",} 2.0} */
    private static final Pattern STATEMENT = Pattern.compile(
            "fortress_db_statement_duration_seconds_count\\{pool=\"([^\"]+)\",statement=\"([^\"]+)\",?} \\S+");

    private static Http api() {
        return new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
    }

    private static Http admin() {
        return new Http("127.0.0.1", APP.getAdminPort());
    }

    private static HttpResponse<String> task(String path) {
        return admin().send(HttpRequest.newBuilder(admin().uri("/tasks/" + path))
                .POST(HttpRequest.BodyPublishers.noBody()));
    }

    @Test
    void routesTasksAndHealthChecksExportEveryStatementByName() {
        String run = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        HttpResponse<String> created = api().postJson(
                        "/users", "{\"email\":\"names-" + run + "@x.io\",\"role\":\"member\",\"orgId\":7,\"age\":31}");
        assertThat(created.statusCode()).isEqualTo(201);
        Object userId = Http.json(created).get("id");
        String token =
                created.headers().firstValue(ConsistencyTokenFeature.HEADER).orElseThrow();
        assertThat(api().send(HttpRequest.newBuilder(api().uri("/users/" + userId))
                                .GET()
                                .header(ConsistencyTokenFeature.HEADER, token))
                        .statusCode())
                .isEqualTo(200);
        // Without a token the read goes to the replica, which may not have replayed the insert yet
        // (the token's read above may have been served by the writer for that very reason).
        REPLICA.awaitCaughtUp();
        assertThat(api().get("/users/" + userId).statusCode()).isEqualTo(200);
        HttpRequest.Builder keyed = HttpRequest.newBuilder(api().uri("/users"))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", "names-" + run)
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"email\":\"keyed-" + run + "@x.io\",\"role\":\"viewer\",\"orgId\":7,\"age\":40}"));
        assertThat(api().send(keyed).statusCode()).isEqualTo(201);
        assertThat(api().send(keyed).headers().firstValue("Idempotent-Replayed"))
                .contains("true");

        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        assertThat(api().postJson(
                                "/transactions",
                                "{\"userId\":" + userId + ",\"amount\":\"12.34\",\"createdAt\":\"" + now + "\"}")
                        .statusCode())
                .isEqualTo(201);
        assertThat(api().get("/transactions").statusCode()).isEqualTo(200);
        assertThat(api().get("/transactions?userId=" + userId).statusCode()).isEqualTo(200);
        assertThat(api().get("/transactions/summary").statusCode()).isEqualTo(200);
        Instant hour = Instant.now().truncatedTo(ChronoUnit.HOURS);
        assertThat(api().get("/transactions/summary?from="
                                + hour.minus(1, ChronoUnit.DAYS)
                                        .plus(30, ChronoUnit.MINUTES)
                                        .plusSeconds(15) + "&to=" + hour)
                        .statusCode())
                .isEqualTo(200); // a partial minute: not the aligned summary
        assertThat(api().get("/orgs/7/stats").statusCode()).isEqualTo(200);
        // Refusals that ask whether the row exists elsewhere, to count a cross-tenant request.
        long otherOrgsUser = DB.aUser("names-other-" + run + "@x.io"); // organisation 1
        assertThat(api().postJson(
                                "/transactions",
                                "{\"userId\":" + otherOrgsUser + ",\"amount\":\"1.00\"," + "\"createdAt\":\"" + now
                                        + "\"}")
                        .statusCode())
                .isEqualTo(422);
        assertThat(api().get("/imports/" + java.util.UUID.randomUUID()).statusCode())
                .isEqualTo(404);

        // Two months long past the retention, then the upkeep that detaches and drops them.
        assertThat(task("partitions?from=2000-01&to=2000-02").body()).contains("created [transactions_y2000m01");
        assertThat(task("partitions").body()).contains("dropped [transactions_y2000m01, transactions_y2000m02]");
        assertThat(task("rollups").statusCode()).isEqualTo(200);
        assertThat(task("idempotency-purge").body()).startsWith("purged ");
        admin().get("/healthcheck"); // every check, healthy or not

        // The keys' last use is written every LAST_USE_FLUSH, not by a request: scrape until it has been.
        String scrape = admin().get(Prometheus.PATH).body();
        Set<String> statements = statements(scrape);
        long deadline = System.nanoTime() + LAST_USE_FLUSH.multipliedBy(30).toNanos();
        while (!statements.contains("writer ApiKeyDao.used") && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(
                    Duration.ofMillis(200).toNanos());
            scrape = admin().get(Prometheus.PATH).body();
            statements = statements(scrape);
        }
        System.out.println("statements exported: " + statements);
        assertThat(scrape).as("/prometheus").doesNotContain("sql.raw").doesNotContain("sql_raw");
        assertThat(statements)
                .as("statements on /prometheus")
                .contains(
                        "writer PartitionsDao.lock",
                        "writer PartitionsDao.present",
                        "writer PartitionsDao.create",
                        "writer PartitionsDao.detach",
                        "writer PartitionsDao.drop",
                        "writer ConsistencyTokenDao.writerPosition",
                        "writer DatabaseHealthDao.probe",
                        "reader DatabaseHealthDao.probe",
                        "reader ReplicaLagDao.replay",
                        "writer ReplicaLagDao.writerPosition",
                        "reader ApiKeyReadDao.find",
                        "writer ApiKeyDao.used",
                        "writer TransactionWriteDao.userExists",
                        "writer ImportDao.exists",
                        "writer StatementTimeoutDao.setLocal");
        assertThat(FortressApp.unnamedStatements(APP.getEnvironment().metrics()))
                .isEmpty();
    }

    /** "pool Dao.method" of every statement timer in a scrape. */
    private static Set<String> statements(String scrape) {
        Set<String> statements = new TreeSet<>();
        Matcher m = STATEMENT.matcher(scrape);
        while (m.find()) {
            statements.add(m.group(1) + " " + m.group(2));
        }
        return statements;
    }

    @Test
    void seedersNameEveryStatement() {
        TestDatabase db = TestDatabase.create();
        MetricRegistry metrics = new MetricRegistry();
        Jdbi jdbi = Databases.configure(db.jdbi(), new StatementMetrics(metrics, "seed", Duration.ofHours(1)));

        assertThat(new UserSeeder(jdbi).seed(100, 3)).isEqualTo(100);
        assertThat(new TransactionSeeder(jdbi, new TransactionsConfiguration(24, 3, true)).seed(200))
                .isEqualTo(200);

        assertThat(FortressApp.unnamedStatements(metrics)).isEmpty();
        assertThat(metrics.getTimers().keySet())
                .contains(
                        "dev.fortress.db.seed.UserSeedDao.synchronousCommitOff",
                        "dev.fortress.db.seed.UserSeedDao.insert",
                        "dev.fortress.db.seed.UserSeedDao.analyze",
                        "dev.fortress.db.seed.TransactionSeedDao.anyUser",
                        "dev.fortress.db.seed.TransactionSeedDao.synchronousCommitOff",
                        "dev.fortress.db.seed.TransactionSeedDao.insert",
                        "dev.fortress.db.seed.TransactionSeedDao.analyze",
                        "dev.fortress.db.seed.PartitionsDao.create");
    }
}
