package dev.fortress.transactions;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import dev.fortress.testing.TestDatabase;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.tomcat.jdbc.pool.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The deltas the triggers leave, the rollup job, retention and the summary statement, on a real
 * PostgreSQL built from the real changelog: an organisation's summary always equals count(*) and
 * sum(amount) of that organisation's rows, whatever the job has done, and never counts another's.
 */
class RollupsTest {

    /** A fixed "now" so that month arithmetic is the same whenever the test runs. */
    private static final Instant NOW = Instant.parse("2026-11-15T12:00:00Z");

    private static final long SEED = Long.getLong("fortress.seed", 15L);
    /** The organisation of the tests that write for one organisation only. */
    private static final long ORG = 1;
    /** The organisations random rows belong to (one user each); ORG is the first. */
    private static final List<Long> ORGS = List.of(ORG, 7L, 42L);
    /** An organisation with a user but no transactions: its summary of any window is empty. */
    private static final long WITHOUT_ROWS = 99;

    private static Jdbi fresh() {
        return withUserAndPartitions(TestDatabase.create());
    }

    /** Each test database's pool, for the summaries, which run on plain JDBC; closed after each test. */
    private static final Map<Jdbi, DataSource> SOURCES = new IdentityHashMap<>();

    @AfterEach
    void closePools() {
        SOURCES.values().forEach(DataSource::close);
        SOURCES.clear();
    }

    private static Jdbi withUserAndPartitions(TestDatabase db) {
        DataSource pool = pool(db);
        Jdbi jdbi = Databases.configure(
                Jdbi.create(pool), new StatementMetrics(new MetricRegistry(), "test", Duration.ofSeconds(1)));
        SOURCES.put(jdbi, pool);
        jdbi.useHandle(h -> {
            for (long org : ORGS) {
                h.execute(
                        "insert into users (email, role, org_id, age) values (?, 'admin', ?, 40)",
                        "r" + org + "@x.io",
                        org);
            }
            h.execute(
                    "insert into users (email, role, org_id, age) values ('none@x.io', 'admin', ?, 40)", WITHOUT_ROWS);
        });
        new Partitions(jdbi, new TransactionsConfiguration(24, 3, true), () -> NOW).maintain();
        return jdbi;
    }

    /**
     * A pool on {@code db}, as the service reads through one: every window is read by each
     * organisation, and a new connection per statement was most of this test's time.
     */
    private static DataSource pool(TestDatabase db) {
        return db.pool(db.url(), 12);
    }

    private static Rollups rollups(Jdbi jdbi, int batch) {
        return new Rollups(jdbi, batch, new Meter(), new Meter(), null);
    }

    @Test
    void eachStatementLeavesOneDeltaPerMinuteItTouchesAndUpdatesAndDeletesSubtract() {
        Jdbi jdbi = fresh();

        execute(
                jdbi,
                "insert into transactions (user_id, org_id, amount, created_at) select u.id, u.org_id, 1.25, "
                        + "timestamptz '2026-05-03T10:00:00Z' + (g % 3) * interval '1 hour' "
                        + "from (select id, org_id from users where org_id = ?) u, generate_series(1, 999) g",
                ORG);
        assertThat(deltas(jdbi)).as("one delta per minute, not per row").isEqualTo(3);
        assertDeltasAddUpToTheRows(jdbi);

        execute(
                jdbi,
                "update transactions set created_at = created_at + interval '1 day' "
                        + "where created_at < '2026-05-03T11:00:00Z'");
        execute(
                jdbi,
                "update transactions set amount = amount * 2 where created_at >= '2026-05-03T12:00:00Z'"); // 2 hours
        execute(jdbi, "delete from transactions where id % 10 = 0");
        execute(jdbi, "update transactions set amount = amount where id % 7 = 0");
        assertThat(deltas(jdbi))
                .as("moved rows leave their minute and join another; no-op updates add nothing")
                .isEqualTo(3 + 2 + 2 + 3);
        assertDeltasAddUpToTheRows(jdbi);
        assertExact(jdbi, Instant.parse("2026-05-01T00:00:00Z"), Instant.parse("2026-06-01T00:00:00Z"));
    }

    @Test
    void oneStatementLeavesOneDeltaPerOrganisationAndMinuteAndTheRunKeepsThemApart() {
        Jdbi jdbi = fresh();

        execute(
                jdbi,
                "insert into transactions (user_id, org_id, amount, created_at) "
                        + "select u.id, u.org_id, u.org_id, timestamptz '2026-07-01T10:00:00Z' + (g % 2) * interval '1 hour' "
                        + "from users u, generate_series(1, 10) g where u.org_id <> ?",
                WITHOUT_ROWS);
        assertThat(deltas(jdbi)).as("one delta per organisation and minute").isEqualTo(ORGS.size() * 2);
        assertDeltasAddUpToTheRows(jdbi);

        rollups(jdbi, Rollups.BATCH).run();

        assertThat(scalar(jdbi, "select count(*) from (select distinct org_id, grain from transaction_rollups) k"))
                .as("minute, hour, day and month rollups of each organisation")
                .isEqualTo(ORGS.size() * 4);
        for (long org : ORGS) {
            assertThat(summary(jdbi, org, Instant.parse("2026-07-01T00:00:00Z"), Instant.parse("2026-08-01T00:00:00Z")))
                    .as("org " + org)
                    .isEqualTo(new TransactionReadDao.Summary(
                            10, BigDecimal.valueOf(10 * org).setScale(2)));
        }
        assertExact(jdbi, Instant.parse("2026-07-01T10:30:00Z"), Instant.parse("2026-07-01T11:30:00Z"));
        assertGrainsAgree(jdbi);
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

        Rollups.Report report = new Rollups(jdbi, 3, runs, moved, null).run();

        assertThat(report.deltas()).isEqualTo(20);
        assertThat(report.transactions()).as("6 full batches and the rest").isEqualTo(7);
        assertThat(runs.getCount()).isEqualTo(1);
        assertThat(moved.getCount()).isEqualTo(20);
        assertThat(deltas(jdbi)).isZero();
        assertThat(scalar(jdbi, "select count(*) from transaction_rollups where grain = 'hour'"))
                .isEqualTo(20);
        assertThat(scalar(jdbi, "select count(*) from transaction_rollups where grain = 'day'"))
                .isEqualTo(3);
        assertThat(scalar(jdbi, "select count from transaction_rollups where grain = 'month'"))
                .isEqualTo(20);
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
        long other = ORGS.get(1);
        insert(jdbi, "2026-03-10T05:00:00Z", "10.00");
        insert(jdbi, "2026-05-31T23:59:59Z", "20.00");
        insert(jdbi, "2026-09-01T00:00:00Z", "40.00");
        insert(jdbi, other, "2026-04-10T05:00:00Z", "1000.00"); // retired months of every organisation go
        rollups(jdbi, Rollups.BATCH).run();
        insert(jdbi, "2026-03-31T23:00:00Z", "80.00"); // still a delta
        insert(jdbi, other, "2026-05-02T00:00:00Z", "2000.00");
        insert(jdbi, "2026-11-02T00:00:00Z", "160.00");

        Partitions.Report report = partitions.maintain();

        assertThat(report.detached()).contains("transactions_y2026m03", "transactions_y2026m05");
        assertThat(scalar(jdbi, "select count(*) from transaction_rollups where bucket < '2026-09-01T00:00:00Z'"))
                .isZero();
        assertThat(scalar(jdbi, "select count(*) from transaction_deltas where bucket < '2026-09-01T00:00:00Z'"))
                .isZero();
        TransactionReadDao.Summary march =
                summary(jdbi, Instant.parse("2026-03-01T00:00:00Z"), Instant.parse("2026-04-01T00:00:00Z"));
        assertThat(march.count()).isZero();
        assertThat(march.sum()).isZero();
        assertThat(summary(jdbi, Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2027-01-01T00:00:00Z")))
                .isEqualTo(new TransactionReadDao.Summary(2, new BigDecimal("200.00")));
        TransactionReadDao.Summary otherYear =
                summary(jdbi, other, Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2027-01-01T00:00:00Z"));
        assertThat(otherYear.count()).isZero();
        assertThat(otherYear.sum()).isZero();
        assertExact(jdbi, Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2027-01-01T00:00:00Z"));
        rollups(jdbi, Rollups.BATCH).run();
        assertExact(jdbi, Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2027-01-01T00:00:00Z"));
    }

    @Test
    void theMigrationsKeepExistingRowsExact() {
        TestDatabase db = TestDatabase.createWithFirst(4);
        Jdbi jdbi = withUserAndPartitions(db);
        // Before changeset 8 a row has no org_id: the migration takes it from the row's user.
        insertRandom(
                new Random(SEED),
                200,
                (org, at, amount) -> jdbi.useHandle(h -> h.createUpdate(
                                "insert into transactions (user_id, amount, created_at) select id, cast(:amount as numeric), "
                                        + "cast(:at as timestamptz) from users where org_id = :org")
                        .bind("org", org)
                        .bind("amount", amount)
                        .bind("at", at)
                        .execute()));

        db.migrate();

        assertThat(scalar(
                        jdbi,
                        "select count(*) from transactions t join users u on u.id = t.user_id "
                                + "where t.org_id <> u.org_id"))
                .as("every row carries its user's organisation")
                .isZero();
        assertThat(scalar(jdbi, "select count(distinct org_id) from transactions"))
                .isEqualTo(ORGS.size());
        // Changeset 8 made them deltas again; 15 rolled those up and built the minute rollups from the rows.
        assertThat(deltas(jdbi)).isZero();
        assertDeltasAndRollupsAddUpToTheRows(jdbi);
        assertGrainsAgree(jdbi);
        List<Instant[]> windows = randomWindows(new Random(SEED), 30);
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));
        rollups(jdbi, Rollups.BATCH).run();
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));
    }

    /**
     * Changeset 15 on data that has both hour rollups and hourly deltas pending: the pending ones are
     * rolled up, minute rollups are built from the rows, and every window (on whole minutes or not)
     * is exact at once, then after runs and new writes (one delta per minute from then on).
     */
    @Test
    void theMinuteRollupsMigrationKeepsRolledUpAndPendingWritesExact() {
        TestDatabase db = TestDatabase.createWithFirst(12); // through 12-api-keys-revoked-at
        Jdbi jdbi = withUserAndPartitions(db);
        Random random = new Random(SEED);
        insertRandom(jdbi, random, 200);
        // The hourly rollup of changeset 8's day, as the job ran it then.
        execute(jdbi, """
                with moved as (delete from transaction_deltas returning org_id, bucket, count, sum),
                hours as (select org_id, bucket, sum(count) as count, sum(sum) as sum from moved group by 1, 2),
                buckets as (
                  select org_id, 'hour' as grain, bucket, count, sum from hours
                  union all
                  select org_id, 'day', date_trunc('day', bucket, 'UTC'), sum(count), sum(sum) from hours group by 1, 3
                  union all
                  select org_id, 'month', date_trunc('month', bucket, 'UTC'), sum(count), sum(sum) from hours group by 1, 3)
                insert into transaction_rollups as r (org_id, grain, bucket, count, sum)
                select org_id, grain, bucket, count, sum from buckets
                on conflict (org_id, grain, bucket) do update set count = r.count + excluded.count, sum = r.sum + excluded.sum""");
        insertRandom(jdbi, random, 100); // pending hourly deltas beside the rollups
        assertThat(deltas(jdbi)).isPositive();

        db.migrate();

        assertThat(deltas(jdbi)).as("the hourly deltas were rolled up").isZero();
        assertDeltasAndRollupsAddUpToTheRows(jdbi);
        assertGrainsAgree(jdbi);
        List<Instant[]> windows = randomWindows(new Random(SEED + 1), 40);
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));
        insertRandom(jdbi, random, 100);
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));
        rollups(jdbi, Rollups.BATCH).run();
        windows.forEach(w -> assertExact(jdbi, w[0], w[1]));
        assertGrainsAgree(jdbi);
    }

    @Test
    void aRunThatMovedDeltasVacuumsBothTablesWithoutWaitingForAutovacuum() {
        Jdbi jdbi = fresh();
        String vacuumed =
                "select count(*) from pg_class where relname in ('transaction_deltas', 'transaction_rollups') "
                        + "and reltuples >= 0"; // -1 until a VACUUM or ANALYZE has counted the table
        rollups(jdbi, Rollups.BATCH).run();
        assertThat(scalar(jdbi, vacuumed))
                .as("nothing moved, nothing to reclaim")
                .isZero();

        insert(jdbi, "2026-10-01T10:00:00Z", "1.00");
        rollups(jdbi, Rollups.BATCH).run();

        assertThat(scalar(jdbi, vacuumed)).isEqualTo(2);
        assertThat(scalar(jdbi, "select cast(reltuples as bigint) from pg_class where relname = 'transaction_deltas'"))
                .as("the deleted deltas are not counted as live")
                .isZero();
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

    /** Writes one row of an organisation. */
    private interface RowWriter {
        void write(long org, String createdAt, String amount);
    }

    /**
     * Rows of random organisations among {@link #ORGS}, spread over the kept months, a third of
     * them crowded around day and month boundaries.
     */
    private static void insertRandom(Jdbi jdbi, Random random, int rows) {
        insertRandom(random, rows, (org, at, amount) -> insert(jdbi, org, at, amount));
    }

    private static void insertRandom(Random random, int rows, RowWriter writer) {
        Instant first = Instant.parse("2025-01-01T00:00:00Z");
        long span = Instant.parse("2027-02-01T00:00:00Z").getEpochSecond() - first.getEpochSecond();
        for (int i = 0; i < rows; i++) {
            long org = ORGS.get(random.nextInt(ORGS.size()));
            Instant at = random.nextInt(3) == 0
                    ? Partitions.start(YearMonth.of(2026, 1 + random.nextInt(12)))
                            .plusSeconds(random.nextInt(-7200, 7200))
                    : first.plusSeconds(random.nextLong(span));
            writer.write(
                    org,
                    at.toString(),
                    BigDecimal.valueOf(random.nextInt(-99_999, 99_999), 2).toPlainString());
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

    /** A row of {@link #ORG}'s user. */
    private static void insert(Jdbi jdbi, String createdAt, String amount) {
        insert(jdbi, ORG, createdAt, amount);
    }

    /** A row of {@code org}'s user, carrying its organisation as the service writes it. */
    private static void insert(Jdbi jdbi, long org, String createdAt, String amount) {
        jdbi.useHandle(h -> h.createUpdate(
                        "insert into transactions (user_id, org_id, amount, created_at) "
                                + "select id, org_id, cast(:amount as numeric), cast(:at as timestamptz) from users where org_id = :org")
                .bind("org", org)
                .bind("amount", amount)
                .bind("at", createdAt)
                .execute());
    }

    private static TransactionReadDao.Summary summary(Jdbi jdbi, Instant from, Instant to) {
        return summary(jdbi, ORG, from, to);
    }

    /** {@code org}'s summary as the service reads it, and the statement for whole hours too when it applies. */
    private static TransactionReadDao.Summary summary(Jdbi jdbi, long org, Instant from, Instant to) {
        SummaryPieces pieces = SummaryPieces.of(from, to);
        JdbcTransactionReadDao reads =
                new JdbcTransactionReadDao(new Databases.Source(SOURCES.get(jdbi), jdbi, StatementMetrics.of(jdbi)));
        TransactionReadDao.Summary summary = reads.summary(org, pieces);
        if (pieces.onWholeMinutes()) {
            assertThat(reads.summaryAligned(org, pieces))
                    .as("the statement for whole minutes agrees (org " + org + ")")
                    .isEqualTo(summary);
        }
        return summary;
    }

    /**
     * For each organisation, its summary of [from, to) equals count(*) and sum(amount) of its own
     * rows on the writer; one without rows reads nothing; and the organisations' summaries add up
     * to all the rows of the window, so none counts another's.
     */
    private static void assertExact(Jdbi jdbi, Instant from, Instant to) {
        String where = "seed " + SEED + ", window [" + from + ", " + to + ")";
        long count = 0;
        BigDecimal sum = BigDecimal.ZERO;
        for (long org : ORGS) {
            TransactionReadDao.Summary rows = jdbi.withHandle(h -> h.createQuery("select count(*) as count, "
                            + "coalesce(sum(amount), 0) as sum from transactions "
                            + "where org_id = :org and created_at >= :from and created_at < :to")
                    .bind("org", org)
                    .bind("from", from)
                    .bind("to", to)
                    .map(new TransactionReadDao.SummaryMapper())
                    .one());
            TransactionReadDao.Summary read = summary(jdbi, org, from, to);
            assertThat(read.count()).as(where + ", org " + org + ": count").isEqualTo(rows.count());
            assertThat(read.sum()).as(where + ", org " + org + ": sum").isEqualByComparingTo(rows.sum());
            count += read.count();
            sum = sum.add(read.sum());
        }
        TransactionReadDao.Summary none = summary(jdbi, WITHOUT_ROWS, from, to);
        assertThat(none.count()).as(where + ", an organisation without rows").isZero();
        assertThat(none.sum()).as(where + ", an organisation without rows").isZero();
        TransactionReadDao.Summary all = jdbi.withHandle(h -> h.createQuery(
                        "select count(*) as count, "
                                + "coalesce(sum(amount), 0) as sum from transactions where created_at >= :from and created_at < :to")
                .bind("from", from)
                .bind("to", to)
                .map(new TransactionReadDao.SummaryMapper())
                .one());
        assertThat(count)
                .as(where + ": the organisations' counts add up to the rows")
                .isEqualTo(all.count());
        assertThat(sum)
                .as(where + ": the organisations' sums add up to the rows")
                .isEqualByComparingTo(all.sum());
    }

    /** Per organisation, the pending deltas add up to its rows. */
    private static void assertDeltasAddUpToTheRows(Jdbi jdbi) {
        assertThat(scalar(jdbi, """
                select count(*) from
                  (select org_id, sum(count) as c, sum(sum) as s from transaction_deltas group by 1) d
                  full join (select org_id, count(*) as c, sum(amount) as s from transactions group by 1) t using (org_id)
                where coalesce(d.c, 0) <> coalesce(t.c, 0) or coalesce(d.s, 0) <> coalesce(t.s, 0)""")).isZero();
    }

    /** Per organisation, the pending deltas and the hour rollups add up to its rows. */
    private static void assertDeltasAndRollupsAddUpToTheRows(Jdbi jdbi) {
        assertThat(scalar(jdbi, """
                select count(*) from
                  (select org_id, sum(count) as c, sum(sum) as s from (
                     select org_id, count, sum from transaction_deltas
                     union all
                     select org_id, count, sum from transaction_rollups where grain = 'hour') pieces group by 1) d
                  full join (select org_id, count(*) as c, sum(amount) as s from transactions group by 1) t using (org_id)
                where coalesce(d.c, 0) <> coalesce(t.c, 0) or coalesce(d.s, 0) <> coalesce(t.s, 0)""")).isZero();
    }

    /** Per organisation, every hour is the sum of its minutes, every day of its hours, every month of its days. */
    private static void assertGrainsAgree(Jdbi jdbi) {
        assertThat(scalar(jdbi, """
                select count(*) from (
                  select org_id as o, date_trunc('hour', bucket, 'UTC') as b, 'hour' as g, sum(count) as c, sum(sum) as s
                    from transaction_rollups where grain = 'minute' group by 1, 2
                  union all
                  select org_id, date_trunc('day', bucket, 'UTC'), 'day', sum(count), sum(sum)
                    from transaction_rollups where grain = 'hour' group by 1, 2
                  union all
                  select org_id, date_trunc('month', bucket, 'UTC'), 'month', sum(count), sum(sum)
                    from transaction_rollups where grain = 'day' group by 1, 2
                ) expected full join transaction_rollups r
                    on r.org_id = expected.o and r.grain = expected.g and r.bucket = expected.b
                where r.grain is distinct from 'minute'
                  and (expected.c is distinct from r.count or expected.s is distinct from r.sum)""")).isZero();
    }

    private static long deltas(Jdbi jdbi) {
        return scalar(jdbi, "select count(*) from transaction_deltas");
    }

    private static long scalar(Jdbi jdbi, String sql) {
        return jdbi.withHandle(h -> h.select(sql).mapTo(Long.class).one());
    }

    private static void execute(Jdbi jdbi, String sql, Object... arguments) {
        jdbi.useHandle(h -> h.execute(sql, arguments));
    }
}
