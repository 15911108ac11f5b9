package dev.fortress.transactions;

import com.codahale.metrics.Meter;
import dev.fortress.db.Databases;
import dev.fortress.testing.TestDatabase;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deltas the triggers leave, the rollup job, retention and the summary statement, on a real
 * PostgreSQL built from the real changelog: a summary always equals count(*) and sum(amount) of
 * the same rows, whatever the job has done.
 */
class RollupsTest {

    /** A fixed "now" so that month arithmetic is the same whenever the test runs. */
    private static final Instant NOW = Instant.parse("2026-11-15T12:00:00Z");
    private static final long SEED = Long.getLong("fortress.seed", 15L);
    /** The organisation whose summaries are read (the first user's, which the tests' rows belong to). */
    private static final long ORG = 1;

    private static Jdbi fresh() {
        return withUserAndPartitions(TestDatabase.create());
    }

    /** Each test database's DataSource, for the summaries, which run on plain JDBC. */
    private static final Map<Jdbi, DataSource> SOURCES = new IdentityHashMap<>();

    private static Jdbi withUserAndPartitions(TestDatabase db) {
        Jdbi jdbi = db.jdbi().installPlugin(new SqlObjectPlugin());
        SOURCES.put(jdbi, db.dataSource());
        jdbi.useHandle(h -> h.execute("insert into users (email, role, org_id, age) values ('r@x.io', 'admin', 1, 40)"));
        new Partitions(jdbi, new TransactionsConfiguration(24, 3, true), () -> NOW).maintain();
        return jdbi;
    }

    private static Rollups rollups(Jdbi jdbi, int batch) {
        return new Rollups(jdbi, batch, new Meter(), new Meter());
    }

    @Test
    void eachStatementLeavesOneDeltaPerHourItTouchesAndUpdatesAndDeletesSubtract() {
        Jdbi jdbi = fresh();

        execute(jdbi, "insert into transactions (user_id, amount, created_at) select min(id), 1.25, "
                + "timestamptz '2026-05-03T10:00:00Z' + (g % 3) * interval '1 hour' from users, generate_series(1, 999) g "
                + "group by g");
        assertThat(deltas(jdbi)).as("one delta per hour, not per row").isEqualTo(3);
        assertDeltasAddUpToTheRows(jdbi);

        execute(jdbi, "update transactions set created_at = created_at + interval '1 day' "
                + "where created_at < '2026-05-03T11:00:00Z'");
        execute(jdbi, "update transactions set amount = amount * 2 where created_at >= '2026-05-03T12:00:00Z'"); // 2 hours
        execute(jdbi, "delete from transactions where id % 10 = 0");
        execute(jdbi, "update transactions set amount = amount where id % 7 = 0");
        assertThat(deltas(jdbi)).as("moved rows leave their hour and join another; no-op updates add nothing")
                .isEqualTo(3 + 2 + 2 + 3);
        assertDeltasAddUpToTheRows(jdbi);
        assertExact(jdbi, Instant.parse("2026-05-01T00:00:00Z"), Instant.parse("2026-06-01T00:00:00Z"));
    }

    @Test
    void summariesAreExactFromDeltasAloneBeforeAnyRunAndFromRollupsAfter() {
        Jdbi jdbi = fresh();
        Random random = new Random(SEED);
        insertRandom(jdbi, random, 300);
        List<Instant[]> windows = randomWindows(random, 60);

        assertThat(scalar(jdbi, "select count(*) from transaction_rollups")).isZero();
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));

        Rollups.Report report = rollups(jdbi, Rollups.BATCH).run();
        assertThat(report.deltas()).isEqualTo(300);
        assertThat(deltas(jdbi)).isZero();
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));

        insertRandom(jdbi, random, 50); // pending beside rolled up
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));
        assertGrainsAgree(jdbi);
    }

    @Test
    void smallBatchesMoveEveryDeltaAcrossSeveralTransactions() {
        Jdbi jdbi = fresh();
        for (int hour = 0; hour < 20; hour++) {
            insert(jdbi, "2026-10-0" + (1 + hour % 3) + "T" + String.format("%02d", hour) + ":30:00Z", "1.00");
        }
        Meter runs = new Meter();
        Meter moved = new Meter();

        Rollups.Report report = new Rollups(jdbi, 3, runs, moved).run();

        assertThat(report.deltas()).isEqualTo(20);
        assertThat(report.transactions()).as("6 full batches and the rest").isEqualTo(7);
        assertThat(runs.getCount()).isEqualTo(1);
        assertThat(moved.getCount()).isEqualTo(20);
        assertThat(deltas(jdbi)).isZero();
        assertThat(scalar(jdbi, "select count(*) from transaction_rollups where grain = 'hour'")).isEqualTo(20);
        assertThat(scalar(jdbi, "select count(*) from transaction_rollups where grain = 'day'")).isEqualTo(3);
        assertThat(scalar(jdbi, "select count from transaction_rollups where grain = 'month'")).isEqualTo(20);
        assertGrainsAgree(jdbi);
        assertThat(rollups(jdbi, 3).run().deltas()).as("nothing left").isZero();
    }

    @Test
    void concurrentWritersAndRunsNeverLoseOrDoubleAWrite() throws Exception {
        Jdbi jdbi = fresh();
        AtomicBoolean writing = new AtomicBoolean(true);
        List<CompletableFuture<Void>> writers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            long seed = SEED + w;
            writers.add(CompletableFuture.runAsync(() -> insertRandom(jdbi, new Random(seed), 150)));
        }
        List<CompletableFuture<Void>> runners = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            runners.add(CompletableFuture.runAsync(() -> {
                while (writing.get()) {
                    rollups(jdbi, 7).run();
                }
            }));
        }
        CompletableFuture.allOf(writers.toArray(new CompletableFuture[0])).get();
        writing.set(false);
        CompletableFuture.allOf(runners.toArray(new CompletableFuture[0])).get();

        randomWindows(new Random(SEED), 40).forEach(w -> assertExact(jdbi, w[0], w[1]));
        assertDeltasAndRollupsAddUpToTheRows(jdbi);
        rollups(jdbi, Rollups.BATCH).run();
        assertThat(deltas(jdbi)).isZero();
        assertDeltasAndRollupsAddUpToTheRows(jdbi);
        assertGrainsAgree(jdbi);
    }

    @Test
    void retiringAMonthDeletesItsRollupsAndDeltasWithTheDetach() {
        retiresRollupsWithTheMonth(true);
    }

    @Test
    void retiringAMonthKeptAsATableDeletesItsRollupsAndDeltasToo() {
        retiresRollupsWithTheMonth(false);
    }

    private static void retiresRollupsWithTheMonth(boolean drop) {
        Jdbi jdbi = fresh();
        Partitions partitions = new Partitions(jdbi, new TransactionsConfiguration(2, 1, drop), () -> NOW);
        partitions.create(YearMonth.of(2026, 3), YearMonth.of(2026, 12));
        insert(jdbi, "2026-03-10T05:00:00Z", "10.00");
        insert(jdbi, "2026-05-31T23:59:59Z", "20.00");
        insert(jdbi, "2026-09-01T00:00:00Z", "40.00");
        rollups(jdbi, Rollups.BATCH).run();
        insert(jdbi, "2026-03-31T23:00:00Z", "80.00"); // still a delta
        insert(jdbi, "2026-11-02T00:00:00Z", "160.00");

        Partitions.Report report = partitions.maintain();

        assertThat(report.detached()).contains("transactions_y2026m03", "transactions_y2026m05");
        assertThat(scalar(jdbi, "select count(*) from transaction_rollups where bucket < '2026-09-01T00:00:00Z'"))
                .isZero();
        assertThat(scalar(jdbi, "select count(*) from transaction_deltas where bucket < '2026-09-01T00:00:00Z'"))
                .isZero();
        TransactionDao.Summary march = summary(jdbi, Instant.parse("2026-03-01T00:00:00Z"),
                Instant.parse("2026-04-01T00:00:00Z"));
        assertThat(march.count()).isZero();
        assertThat(march.sum()).isZero();
        assertThat(summary(jdbi, Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2027-01-01T00:00:00Z")))
                .isEqualTo(new TransactionDao.Summary(2, new BigDecimal("200.00")));
        assertExact(jdbi, Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2027-01-01T00:00:00Z"));
        rollups(jdbi, Rollups.BATCH).run();
        assertExact(jdbi, Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2027-01-01T00:00:00Z"));
    }

    @Test
    void theMigrationTurnsExistingRowsIntoDeltas() {
        TestDatabase db = TestDatabase.createWithFirst(4);
        Jdbi jdbi = withUserAndPartitions(db);
        insertRandom(jdbi, new Random(SEED), 200);

        db.migrate();

        assertDeltasAddUpToTheRows(jdbi);
        List<Instant[]> windows = randomWindows(new Random(SEED), 30);
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));
        rollups(jdbi, Rollups.BATCH).run();
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));
    }

    @Test
    void aRunThatMovedDeltasVacuumsBothTablesWithoutWaitingForAutovacuum() {
        Jdbi jdbi = fresh();
        String vacuumed = "select count(*) from pg_class where relname in ('transaction_deltas', 'transaction_rollups') "
                + "and reltuples >= 0"; // -1 until a VACUUM or ANALYZE has counted the table
        rollups(jdbi, Rollups.BATCH).run();
        assertThat(scalar(jdbi, vacuumed)).as("nothing moved, nothing to reclaim").isZero();

        insert(jdbi, "2026-10-01T10:00:00Z", "1.00");
        rollups(jdbi, Rollups.BATCH).run();

        assertThat(scalar(jdbi, vacuumed)).isEqualTo(2);
        assertThat(scalar(jdbi, "select cast(reltuples as bigint) from pg_class where relname = 'transaction_deltas'"))
                .as("the deleted deltas are not counted as live").isZero();
    }

    @Test
    void theLagIsTheAgeOfTheOldestPendingDeltaAndZeroWithout() {
        Jdbi jdbi = fresh();
        Rollups rollups = rollups(jdbi, Rollups.BATCH);
        assertThat(rollups.lagSeconds()).isZero();

        insert(jdbi, "2026-11-01T00:00:00Z", "1.00");
        assertThat(rollups.lagSeconds()).isPositive();

        rollups.run();
        assertThat(rollups.lagSeconds()).isZero();
    }

    // ---------------------------------------------------------------- helpers

    /** Rows spread over the kept months, a third of them crowded around day and month boundaries. */
    private static void insertRandom(Jdbi jdbi, Random random, int rows) {
        Instant first = Instant.parse("2025-01-01T00:00:00Z");
        long span = Instant.parse("2027-02-01T00:00:00Z").getEpochSecond() - first.getEpochSecond();
        for (int i = 0; i < rows; i++) {
            Instant at = random.nextInt(3) == 0
                    ? Partitions.start(YearMonth.of(2026, 1 + random.nextInt(12))).plusSeconds(random.nextInt(-7200, 7200))
                    : first.plusSeconds(random.nextLong(span));
            insert(jdbi, at.toString(), BigDecimal.valueOf(random.nextInt(-99_999, 99_999), 2).toPlainString());
        }
    }

    private static List<Instant[]> randomWindows(Random random, int count) {
        List<Instant[]> windows = new ArrayList<>();
        Instant base = Instant.parse("2026-01-01T00:00:00Z");
        for (int i = 0; i < count; i++) {
            Instant from = base.plusSeconds(random.nextLong(-400L * 86_400, 400L * 86_400));
            long[] lengths = {1_800, 7 * 3_600, 3 * 86_400, 45L * 86_400, 366L * 86_400};
            Instant to = from.plusSeconds(1 + random.nextLong(lengths[random.nextInt(lengths.length)]));
            windows.add(new Instant[] {from, to});
        }
        windows.add(new Instant[] {Instant.parse("1926-01-01T00:00:00Z"), Instant.parse("2126-01-01T00:00:00Z")});
        return windows;
    }

    private static void insert(Jdbi jdbi, String createdAt, String amount) {
        jdbi.useHandle(h -> h.createUpdate("insert into transactions (user_id, amount, created_at) "
                + "select min(id), cast(:amount as numeric), cast(:at as timestamptz) from users")
                .bind("amount", amount).bind("at", createdAt).execute());
    }

    private static TransactionDao.Summary summary(Jdbi jdbi, Instant from, Instant to) {
        SummaryPieces pieces = SummaryPieces.of(from, to);
        JdbcTransactionReadDao reads = new JdbcTransactionReadDao(new Databases.Source(SOURCES.get(jdbi), jdbi, null));
        TransactionDao.Summary summary = reads.summary(ORG, pieces);
        if (pieces.onWholeHours()) {
            assertThat(reads.summaryAligned(ORG, pieces)).as("the statement for whole hours agrees").isEqualTo(summary);
        }
        return summary;
    }

    private static void assertExact(Jdbi jdbi, Instant from, Instant to) {
        TransactionDao.Summary rows = jdbi.withHandle(h -> h.createQuery("select count(*) as count, "
                + "coalesce(sum(amount), 0) as sum from transactions where created_at >= :from and created_at < :to")
                .bind("from", from).bind("to", to).map(new TransactionDao.SummaryMapper()).one());
        TransactionDao.Summary read = summary(jdbi, from, to);
        String where = "seed " + SEED + ", window [" + from + ", " + to + ")";
        assertThat(read.count()).as(where).isEqualTo(rows.count());
        assertThat(read.sum()).as(where).isEqualByComparingTo(rows.sum());
    }

    private static void assertDeltasAddUpToTheRows(Jdbi jdbi) {
        assertThat(bool(jdbi, "select (select coalesce(sum(count), 0) from transaction_deltas) "
                + "= (select count(*) from transactions) and (select coalesce(sum(sum), 0) from transaction_deltas) "
                + "= (select coalesce(sum(amount), 0) from transactions)")).isTrue();
    }

    private static void assertDeltasAndRollupsAddUpToTheRows(Jdbi jdbi) {
        assertThat(bool(jdbi, """
                select (select coalesce(sum(count), 0) from transaction_deltas)
                     + (select coalesce(sum(count), 0) from transaction_rollups where grain = 'hour')
                     = (select count(*) from transactions)
                   and (select coalesce(sum(sum), 0) from transaction_deltas)
                     + (select coalesce(sum(sum), 0) from transaction_rollups where grain = 'hour')
                     = (select coalesce(sum(amount), 0) from transactions)""")).isTrue();
    }

    /** Every day is the sum of its hours, every month the sum of its days. */
    private static void assertGrainsAgree(Jdbi jdbi) {
        assertThat(scalar(jdbi, """
                select count(*) from (
                  select date_trunc('day', bucket, 'UTC') as b, 'day' as g, sum(count) as c, sum(sum) as s
                    from transaction_rollups where grain = 'hour' group by 1
                  union all
                  select date_trunc('month', bucket, 'UTC'), 'month', sum(count), sum(sum)
                    from transaction_rollups where grain = 'day' group by 1
                ) expected full join transaction_rollups r on r.grain = expected.g and r.bucket = expected.b
                where r.grain <> 'hour' and (expected.c is distinct from r.count or expected.s is distinct from r.sum)"""))
                .isZero();
    }

    private static long deltas(Jdbi jdbi) {
        return scalar(jdbi, "select count(*) from transaction_deltas");
    }

    private static long scalar(Jdbi jdbi, String sql) {
        return jdbi.withHandle(h -> h.select(sql).mapTo(Long.class).one());
    }

    private static boolean bool(Jdbi jdbi, String sql) {
        return jdbi.withHandle(h -> h.select(sql).mapTo(Boolean.class).one());
    }

    private static void execute(Jdbi jdbi, String sql) {
        jdbi.useHandle(h -> h.execute(sql));
    }
}
