package dev.fortress.transactions;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.jdbi.v3.core.Jdbi;

/**
 * Adds generated transactions spread over the last 365 days, set-based (one INSERT ... SELECT
 * generate_series per million rows), for existing users. Partitions for the window are made first.
 */
public final class TransactionSeeder {

    private static final int CHUNK = 1_000_000;
    private static final String INSERT = """
            with u as (select array_agg(id) as ids from (select id from users order by id limit 100000) s)
            insert into transactions (user_id, amount, created_at)
            select u.ids[1 + (g % array_length(u.ids, 1))],
                   round(cast(random() * 500 as numeric), 2),
                   cast(:now as timestamptz) - random() * interval '365 days'
            from u, generate_series(:first, :last) as g
            """;

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
        boolean anyUser = writer.withHandle(h -> h.select("select exists (select 1 from users)").mapTo(Boolean.class).one());
        if (!anyUser) {
            throw new IllegalStateException("transactions need users: seed --users first");
        }
        OffsetDateTime now = Instant.now().atOffset(ZoneOffset.UTC);
        long added = 0;
        for (long first = 1; first <= count; first += CHUNK) {
            long last = Math.min(count, first + CHUNK - 1);
            long from = first;
            added += writer.inTransaction(h -> {
                h.execute("set local synchronous_commit = off");
                return h.createUpdate(INSERT).bind("now", now).bind("first", from).bind("last", last).execute();
            });
        }
        writer.useHandle(h -> h.execute("analyze transactions"));
        return added;
    }
}
