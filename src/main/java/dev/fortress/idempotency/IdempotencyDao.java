package dev.fortress.idempotency;

import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The idempotency_keys table, on the writer, inside the transaction of the write each key guards. */
@RegisterConstructorMapper(IdempotencyDao.Stored.class)
interface IdempotencyDao {

    /** A stored answer; {@code live} is false once it is older than the retention (then it is forgotten). */
    record Stored(byte[] fingerprint, int status, String body, String location, boolean live) {
    }

    /**
     * Whether this transaction now holds the key (transaction-scoped, so it holds behind a
     * transaction-mode PgBouncer and ends with the commit); false while another request holds it.
     */
    @SqlQuery("select pg_try_advisory_xact_lock(hashtextextended(:scope || ' ' || :key, 0))")
    boolean tryLock(@Bind("scope") String scope, @Bind("key") String key);

    @SqlQuery("select fingerprint, status, body, location, "
            + "created_at >= now() - make_interval(secs => :retentionSeconds) as live "
            + "from idempotency_keys where scope = :scope and key = :key")
    Optional<Stored> find(@Bind("scope") String scope, @Bind("key") String key,
                          @Bind("retentionSeconds") long retentionSeconds);

    /** Stores the answer; replaces an expired one the purge has not reached yet (only the key's holder writes it). */
    @SqlUpdate("insert into idempotency_keys (scope, key, fingerprint, status, body, location) "
            + "values (:scope, :key, :fingerprint, :status, :body, :location) "
            + "on conflict (scope, key) do update set fingerprint = excluded.fingerprint, status = excluded.status, "
            + "body = excluded.body, location = excluded.location, created_at = excluded.created_at")
    void store(@Bind("scope") String scope, @Bind("key") String key, @Bind("fingerprint") byte[] fingerprint,
               @Bind("status") int status, @Bind("body") String body, @Bind("location") String location);

    /**
     * Deletes up to {@code batch} expired keys, skipping any a request holds (a write reusing an
     * expired key): the purge never waits for a write.
     */
    @SqlUpdate("delete from idempotency_keys where (scope, key) in (select scope, key from idempotency_keys "
            + "where created_at < now() - make_interval(secs => :retentionSeconds) "
            + "limit :batch for update skip locked)")
    int purge(@Bind("retentionSeconds") long retentionSeconds, @Bind("batch") int batch);
}
