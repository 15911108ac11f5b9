package dev.fortress.idempotency;

import dev.fortress.db.StatementMetrics;
import dev.fortress.db.TimedJdbc;
import java.sql.Types;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.locator.ClasspathSqlLocator;

/**
 * The statements of keyed writes, on plain JDBC. POST /users and POST /transactions run one
 * statement, {@link #keyedWrite}, that claims the key, inserts and stores the answer in one round
 * trip, named after the route's insert. POST /imports claims the key and stores its answer in the
 * transaction that stores the upload, with {@link #claim} and {@link #store}, timed under those
 * names. Plain JDBC for a measured reason: as SQL-object calls the claim and
 * store made a keyed POST cost 1.8x the CPU of an unkeyed one, JDBI's per-call attach and binding
 * weighing more than the statements (bench/results/2026-12-01-issue15.md).
 */
final class IdempotencyStatements {

    /** The statement of a keyed write, around a route's insert ({@code {insert}}). */
    private static final String KEYED_WRITE =
            ClasspathSqlLocator.removingComments().locate(IdempotencyStatements.class, "keyedWrite");
    /** The parameters of {@link #KEYED_WRITE}'s {@code request}, before the route's own. */
    static final int KEYED_WRITE_PARAMETERS = 6;

    /**
     * What {@link #keyedWrite} found and did: whether it held the key, the key's live stored
     * answer if there was one (then nothing was written), and the answer it stored if it wrote.
     */
    record Keyed(boolean locked, IdempotentWrites.Stored earlier, String body, String location) {}

    /**
     * What {@link #claim} found: whether this transaction now holds the key, and the key's stored
     * answer if there is one ({@code live} false once it is older than the retention).
     */
    record Claim(boolean locked, byte[] fingerprint, Integer status, String body, String location, Boolean live) {}

    /**
     * Takes the key (a transaction-scoped advisory lock, so it holds behind a transaction-mode
     * PgBouncer and ends with the commit; false while another request holds it) and reads its
     * stored answer, in one round trip. The read's snapshot is taken before the lock, so a first
     * request that commits in between is missed here: {@link #STORE} then finds its row and stores
     * nothing, and the caller rolls back and claims again.
     */
    private static final String CLAIM =
            "select pg_try_advisory_xact_lock(hashtextextended(? || ' ' || ? || ' ' || ?, 0)), "
                    + "k.fingerprint, k.status, k.body, k.location, k.created_at >= now() - make_interval(secs => ?) "
                    + "from (select 1) as one left join idempotency_keys k on k.org_id = ? and k.scope = ? and k.key = ?";

    /**
     * Stores the answer, or replaces an expired one the purge has not reached yet; 0 rows when a
     * live answer is there already (a first request committed after this one's claim read).
     */
    private static final String STORE = "insert into idempotency_keys (org_id, scope, key, fingerprint, status, body, "
            + "location) values (?, ?, ?, ?, ?, ?, ?) "
            + "on conflict (org_id, scope, key) do update set fingerprint = excluded.fingerprint, status = excluded.status, "
            + "body = excluded.body, location = excluded.location, created_at = excluded.created_at "
            + "where idempotency_keys.created_at < now() - make_interval(secs => ?)";

    private final StatementMetrics metrics;
    private final long retentionSeconds;

    IdempotencyStatements(Jdbi writer, long retentionSeconds) {
        this.metrics = StatementMetrics.of(writer);
        this.retentionSeconds = retentionSeconds;
    }

    /** The statement of a keyed write of {@code insert} (keyedWrite.sql says what {@code insert} must be). */
    static String keyedWrite(String insert) {
        return KEYED_WRITE.replace("{insert}", insert);
    }

    /**
     * Runs {@code sql} (a {@link #keyedWrite}) on its own, in autocommit, as {@code name}: the key
     * claimed, the route's insert and the answer stored, committed together, in one round trip.
     */
    Keyed keyedWrite(
            Handle h,
            String name,
            String sql,
            long orgId,
            String scope,
            String key,
            byte[] fingerprint,
            int status,
            IdempotentWrites.Parameters insert) {
        return TimedJdbc.query(
                h.getConnection(),
                metrics,
                name,
                sql,
                st -> {
                    st.setLong(1, orgId);
                    st.setString(2, scope);
                    st.setString(3, key);
                    st.setBytes(4, fingerprint);
                    st.setLong(5, retentionSeconds);
                    st.setInt(6, status);
                    insert.bind(st, KEYED_WRITE_PARAMETERS + 1);
                },
                rows -> {
                    rows.next();
                    boolean locked = rows.getBoolean(1);
                    byte[] earlierFingerprint = rows.getBytes(2);
                    int earlierStatus = rows.getInt(3);
                    IdempotentWrites.Stored earlier = earlierFingerprint != null && rows.getBoolean(6)
                            ? new IdempotentWrites.Stored(
                                    earlierFingerprint, earlierStatus, rows.getString(4), rows.getString(5))
                            : null;
                    return new Keyed(locked, earlier, rows.getString(7), rows.getString(8));
                });
    }

    Claim claim(Handle h, long orgId, String scope, String key) {
        return TimedJdbc.query(
                h.getConnection(),
                metrics,
                "IdempotencyStatements.claim",
                CLAIM,
                st -> {
                    // CLAIM's placeholders: the lock's org, scope and key, the retention, the join's org, scope and
                    // key.
                    st.setString(1, Long.toString(orgId));
                    st.setString(2, scope);
                    st.setString(3, key);
                    st.setLong(4, retentionSeconds);
                    st.setLong(5, orgId);
                    st.setString(6, scope);
                    st.setString(7, key);
                },
                rows -> {
                    rows.next();
                    int status = rows.getInt(3);
                    boolean noRow = rows.wasNull();
                    boolean live = rows.getBoolean(6);
                    return new Claim(
                            rows.getBoolean(1),
                            rows.getBytes(2),
                            noRow ? null : status,
                            rows.getString(4),
                            rows.getString(5),
                            noRow ? null : live);
                });
    }

    int store(
            Handle h,
            long orgId,
            String scope,
            String key,
            byte[] fingerprint,
            int status,
            String body,
            String location) {
        return TimedJdbc.update(h.getConnection(), metrics, "IdempotencyStatements.store", STORE, st -> {
            st.setLong(1, orgId);
            st.setString(2, scope);
            st.setString(3, key);
            st.setBytes(4, fingerprint);
            st.setInt(5, status);
            st.setString(6, body);
            if (location == null) {
                st.setNull(7, Types.VARCHAR);
            } else {
                st.setString(7, location);
            }
            st.setLong(8, retentionSeconds);
        });
    }
}
