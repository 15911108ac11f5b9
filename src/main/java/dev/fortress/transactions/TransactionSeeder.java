package dev.fortress.transactions;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.jdbi.v3.core.Jdbi;

/**
 * Adds generated transactions spread over the last 365 days, set-based (one INSERT ... SELECT
 * generate_series per 200,000 rows), for existing users. Partitions for the window are made first.
 */
public final class TransactionSeeder {

    /**
     * Rows per statement. Random rows over 1,000 organisations and a year leave about one delta each
     * (one per organisation and hour they touch), so a million rows in one statement outlasted the
     * writer's 30 s socketTimeout under load (bench/run, 2026-12-05); 200,000 did not.
     */
    private static final int CHUNK = 200_000;

    private final Jdbi writer;
    private final Partitions partitions;

    public TransactionSeeder(Jdbi writer, TransactionsConfiguration config) {
        this.writer = writer;
        this.partitions = new Partitions(writer, config, Instant::now);
    }

    public long seed(long count) {
        if (count == 0) {
            return 0;
        }
        partitions.maintain();
        partitions.create(partitions.currentMonth().minusMonths(12), partitions.currentMonth());
        boolean anyUser = writer.withExtension(TransactionSeedDao.class, TransactionSeedDao::anyUser);
        if (!anyUser) {
            throw new IllegalStateException("transactions need users: seed --users first");
        }
        OffsetDateTime now = Instant.now().atOffset(ZoneOffset.UTC);
        long added = 0;
        for (long first = 1; first <= count; first += CHUNK) {
            long last = Math.min(count, first + CHUNK - 1);
            long from = first;
            added += writer.inTransaction(h -> {
                TransactionSeedDao dao = h.attach(TransactionSeedDao.class);
                dao.synchronousCommitOff();
                dao.noStatementTimeout();
                return dao.insert(now, from, last);
            });
        }
        writer.useTransaction(h -> {
            TransactionSeedDao dao = h.attach(TransactionSeedDao.class);
            dao.noStatementTimeout();
            dao.analyze();
        });
        return added;
    }
}
