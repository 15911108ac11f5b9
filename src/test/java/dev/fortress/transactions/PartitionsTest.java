package dev.fortress.transactions;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.testing.TestDatabase;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.junit.jupiter.api.Test;

/** Partition upkeep and pruning on a real PostgreSQL built from the real changelog. */
class PartitionsTest {

    /** A fixed "now" so that month arithmetic is the same whenever the test runs. */
    private static final Instant NOW = Instant.parse("2026-11-15T12:00:00Z");

    private static Jdbi fresh() {
        Jdbi jdbi = TestDatabase.create().jdbi().installPlugin(new SqlObjectPlugin());
        jdbi.useHandle(
                h -> h.execute("insert into users (email, role, org_id, age) values ('p@x.io', 'admin', 1, 40)"));
        return jdbi;
    }

    private static List<YearMonth> present(Jdbi jdbi) {
        return jdbi.withExtension(PartitionsDao.class, PartitionsDao::present);
    }

    @Test
    void maintenanceMakesTheWindowAndASecondOrConcurrentRunChangesNothing() throws Exception {
        Jdbi jdbi = fresh();
        Partitions partitions = new Partitions(jdbi, new TransactionsConfiguration(24, 3, true), () -> NOW);

        Partitions.Report first = partitions.maintain();

        assertThat(scalar(
                        jdbi,
                        "select count(*) from pg_partitioned_table " + "where partrelid = 'transactions'::regclass",
                        Integer.class))
                .isEqualTo(1);
        assertThat(first.created()).hasSize(28).first().isEqualTo("transactions_y2024m11");
        assertThat(present(jdbi)).hasSize(28).startsWith(YearMonth.of(2024, 11)).endsWith(YearMonth.of(2027, 2));

        assertThat(partitions.maintain().created()).isEmpty();
        List<CompletableFuture<Partitions.Report>> together = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            together.add(CompletableFuture.supplyAsync(partitions::maintain));
        }
        for (CompletableFuture<Partitions.Report> run : together) {
            assertThat(run.get().created()).isEmpty();
            assertThat(run.get().count()).isEqualTo(28);
        }
    }

    @Test
    void concurrentFirstRunsOnAnEmptyTableAllSucceed() throws Exception {
        Jdbi jdbi = fresh();
        List<CompletableFuture<Partitions.Report>> together = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Partitions instance = new Partitions(jdbi, new TransactionsConfiguration(6, 2, true), () -> NOW);
            together.add(CompletableFuture.supplyAsync(instance::maintain));
        }
        int created = 0;
        for (CompletableFuture<Partitions.Report> run : together) {
            created += run.get().created().size();
        }
        assertThat(created).as("each month made exactly once").isEqualTo(9);
        assertThat(present(jdbi)).hasSize(9);
    }

    @Test
    void retentionDetachesAndDropsOldPartitionsAndLeavesKeptRowsAlone() {
        Jdbi jdbi = fresh();
        Partitions partitions = new Partitions(jdbi, new TransactionsConfiguration(2, 1, true), () -> NOW);
        partitions.create(YearMonth.of(2026, 3), YearMonth.of(2026, 12));
        insert(
                jdbi,
                "2026-03-10T00:00:00Z",
                "2026-05-10T00:00:00Z",
                "2026-09-30T23:59:59Z",
                "2026-10-01T00:00:00Z",
                "2026-11-02T00:00:00Z",
                "2026-11-20T00:00:00Z");
        long keptBefore = count(jdbi, "created_at >= '2026-09-01T00:00:00Z'");

        Partitions.Report report = partitions.maintain();

        assertThat(report.detached())
                .containsExactly(
                        "transactions_y2026m03",
                        "transactions_y2026m04",
                        "transactions_y2026m05",
                        "transactions_y2026m06",
                        "transactions_y2026m07",
                        "transactions_y2026m08");
        assertThat(report.dropped()).isEqualTo(report.detached());
        assertThat(present(jdbi))
                .containsExactly(
                        YearMonth.of(2026, 9), YearMonth.of(2026, 10), YearMonth.of(2026, 11), YearMonth.of(2026, 12));
        assertThat(count(jdbi, "true")).isEqualTo(keptBefore).isEqualTo(4);
        assertThat(scalar(jdbi, "select to_regclass('transactions_y2026m03') is null", Boolean.class))
                .isTrue();
    }

    @Test
    void retentionCanKeepDetachedPartitionsAsTables() {
        Jdbi jdbi = fresh();
        Partitions partitions = new Partitions(jdbi, new TransactionsConfiguration(1, 1, false), () -> NOW);
        partitions.create(YearMonth.of(2026, 8), YearMonth.of(2026, 12));
        insert(jdbi, "2026-08-10T00:00:00Z");

        Partitions.Report report = partitions.maintain();

        assertThat(report.detached()).containsExactly("transactions_y2026m08", "transactions_y2026m09");
        assertThat(report.dropped()).isEmpty();
        assertThat(scalar(jdbi, "select count(*) from transactions_y2026m08", Long.class))
                .as("archived, not lost")
                .isEqualTo(1);
        assertThat(count(jdbi, "true")).isZero();
    }

    @Test
    void aOneMonthSummaryScansOnePartitionAndTheGenericPlanPrunesTheRestAtExecution() throws Exception {
        Jdbi jdbi = fresh();
        new Partitions(jdbi, new TransactionsConfiguration(12, 3, true), () -> NOW).maintain();
        insert(jdbi, "2026-04-30T23:59:59Z", "2026-05-01T00:00:00Z", "2026-05-31T12:00:00Z", "2026-06-01T00:00:00Z");
        // The shape of the service's summary rows (TransactionReadDao/rows.sql): one organisation, one window.
        String summary = "select count(*), coalesce(sum(amount), 0) from transactions "
                + "where org_id = $1 and created_at >= $2 and created_at < $3";
        ObjectMapper json = new ObjectMapper();

        JsonNode custom = jdbi.withHandle(h -> json.readTree(h.select("explain (format json) "
                        + summary.replace("$1", "1")
                                .replace("$2", "'2026-05-01T00:00:00Z'")
                                .replace("$3", "'2026-06-01T00:00:00Z'"))
                .mapTo(String.class)
                .one()));
        assertThat(scanned(custom)).containsExactly("transactions_y2026m05");

        JsonNode generic = jdbi.withHandle(h -> {
            h.execute("set plan_cache_mode = force_generic_plan");
            h.execute("prepare month_summary(bigint, timestamptz, timestamptz) as " + summary);
            return json.readTree(h.select("explain (analyze, format json) execute month_summary("
                            + "1, '2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z')")
                    .mapTo(String.class)
                    .one());
        });
        int partitionsPresent = present(jdbi).size();
        assertThat(generic.findValues("Subplans Removed"))
                .extracting(JsonNode::asInt)
                .containsExactly(partitionsPresent - 1);
        assertThat(generic.findValues("Actual Rows").get(0).asInt()).isEqualTo(1);
        Long inMay = jdbi.withHandle(h -> h.select("select count(*) from transactions where created_at >= "
                        + "'2026-05-01T00:00:00Z' and created_at < '2026-06-01T00:00:00Z'")
                .mapTo(Long.class)
                .one());
        assertThat(inMay).isEqualTo(2);
    }

    private static <T> T scalar(Jdbi jdbi, String sql, Class<T> type) {
        return jdbi.withHandle(h -> h.select(sql).mapTo(type).one());
    }

    private static List<String> scanned(JsonNode plan) {
        List<String> relations = new ArrayList<>();
        plan.findValues("Relation Name").forEach(n -> relations.add(n.asText()));
        return relations;
    }

    private static void insert(Jdbi jdbi, String... createdAt) {
        jdbi.useHandle(h -> {
            for (String at : createdAt) {
                h.createUpdate("insert into transactions (user_id, org_id, amount, created_at) "
                                + "select id, org_id, 10.00, cast(:at as timestamptz) from users order by id limit 1")
                        .bind("at", at)
                        .execute();
            }
        });
    }

    private static long count(Jdbi jdbi, String where) {
        return jdbi.withHandle((Handle h) -> h.select("select count(*) from transactions where " + where)
                .mapTo(Long.class)
                .one());
    }
}
