package dev.fortress.idempotency;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The purge of idempotency_keys (the statements of a keyed write are {@link IdempotencyStatements}). */
interface IdempotencyDao {

    /**
     * Deletes up to {@code batch} expired keys, skipping any a request holds (a write reusing an
     * expired key): the purge never waits for a write.
     */
    @SqlUpdate(
            "delete from idempotency_keys where (org_id, scope, key) in (select org_id, scope, key from idempotency_keys "
                    + "where created_at < now() - make_interval(secs => :retentionSeconds) "
                    + "limit :batch for update skip locked)")
    int purge(@Bind("retentionSeconds") long retentionSeconds, @Bind("batch") int batch);
}
