package dev.fortress.transactions;

import dev.fortress.db.StatementTimeoutDao;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the monthly partitions of {@code transactions} (UTC months) from {@code retention}
 * months back to {@code premake} months ahead: creates missing ones, detaches (then drops, or
 * keeps) those past the horizon. Idempotent, and safe when several instances run it at once:
 * it works in one transaction under a transaction-scoped advisory lock, which also holds behind
 * PgBouncer in transaction mode. A retired month's rollups and deltas are deleted in the
 * transaction that detaches it, so summaries never count rows that left the table. There is no
 * default partition on purpose: a row outside the window is refused (the API answers 422) instead
 * of landing where it would later block creating the partition it belongs to.
 */
public final class Partitions {

    private static final Logger LOG = LoggerFactory.getLogger(Partitions.class);
    /** Arbitrary, fixed: the advisory lock key of partition upkeep. */
    static final long LOCK = 0x7472616e73L;

    private static final DateTimeFormatter NAME = DateTimeFormatter.ofPattern("'transactions_y'yyyy'm'MM");

    /** What a run found and did; {@code first} and {@code last} bound the partitions now present. */
    public record Report(
            List<String> created,
            List<String> detached,
            List<String> dropped,
            int count,
            YearMonth first,
            YearMonth last) {
        public String summary() {
            return String.format(
                    "partitions %s..%s (%d): created %s, detached %s, dropped %s",
                    first, last, count, created, detached, dropped);
        }
    }

    private final Jdbi writer;
    private final TransactionsConfiguration config;
    private final Supplier<Instant> clock;
    private volatile Report last;

    public Partitions(Jdbi writer, TransactionsConfiguration config, Supplier<Instant> clock) {
        this.writer = writer;
        this.config = config;
        this.clock = clock;
    }

    static String name(YearMonth month) {
        return NAME.format(month);
    }

    static Instant start(YearMonth month) {
        return month.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
    }

    YearMonth currentMonth() {
        return YearMonth.from(clock.get().atZone(ZoneOffset.UTC));
    }

    /** The configured window: creates what is missing in it, retires what is older. */
    public Report maintain() {
        YearMonth now = currentMonth();
        return run(now.minusMonths(config.getRetentionMonths()), now.plusMonths(config.getPremakeMonths()), true);
    }

    /** The maintained window as text: its first instant and the instant after its last month. */
    public String window() {
        YearMonth now = currentMonth();
        return start(now.minusMonths(config.getRetentionMonths())) + " to "
                + start(now.plusMonths(config.getPremakeMonths() + 1L));
    }

    /** Creates partitions for a past or future range (backfills); retires nothing. */
    public Report create(YearMonth from, YearMonth to) {
        return run(from, to, false);
    }

    /** The last report, or null before the first run. */
    public Report last() {
        return last;
    }

    private Report run(YearMonth from, YearMonth to, boolean retire) {
        Report report = writer.inTransaction(h -> {
            if (config.getJobStatementTimeout() != null) {
                // The advisory locks and DETACH's lock on the parent may wait longer than a request may.
                h.attach(StatementTimeoutDao.class).extendTo(config.getJobStatementTimeout());
            }
            PartitionsDao partitions = h.attach(PartitionsDao.class);
            partitions.lock(LOCK);
            List<YearMonth> present = partitions.present();
            List<String> created = new ArrayList<>();
            for (YearMonth month = from; !month.isAfter(to); month = month.plusMonths(1)) {
                if (!present.contains(month)) {
                    partitions.create(month);
                    created.add(name(month));
                }
            }
            List<String> detached = new ArrayList<>();
            List<String> dropped = new ArrayList<>();
            if (retire) {
                RollupDao rollups = h.attach(RollupDao.class);
                boolean rollupsLocked = false;
                for (YearMonth month : present) {
                    if (month.isBefore(from)) {
                        if (!rollupsLocked) {
                            // Else a rollup job between our two deletes could re-add a bucket of the month.
                            rollups.lock();
                            rollupsLocked = true;
                        }
                        partitions.detach(month);
                        detached.add(name(month));
                        // Its rows leave the summaries with it, in the same commit.
                        Timestamp start = Timestamp.from(start(month));
                        Timestamp end = Timestamp.from(start(month.plusMonths(1)));
                        rollups.deleteDeltas(start, end);
                        rollups.deleteRollups(start, end);
                        if (config.isDropDetached()) {
                            partitions.drop(month);
                            dropped.add(name(month));
                        }
                    }
                }
            }
            List<YearMonth> now = partitions.present();
            return new Report(
                    created,
                    detached,
                    dropped,
                    now.size(),
                    now.isEmpty() ? null : now.get(0),
                    now.isEmpty() ? null : now.get(now.size() - 1));
        });
        if (!report.created().isEmpty() || !report.detached().isEmpty()) {
            LOG.info("transactions {}", report.summary());
        }
        last = report;
        return report;
    }
}
