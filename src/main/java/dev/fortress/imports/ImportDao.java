package dev.fortress.imports;

import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterColumnMapper;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.locator.UseClasspathSqlLocator;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * The imports table and the uploaded bytes, on the writer. The import job's statements, in its
 * batches' transactions, are {@link #advance} and {@link #finish} (their .sql files beside this
 * class); a batch's rows go in through {@link ImportBatchDao}.
 */
@RegisterConstructorMapper(ImportDao.Stored.class)
@RegisterColumnMapper(ImportState.Column.class)
public interface ImportDao {

    /** What the job needs of an import; {@code orgId} is null for one stored before API keys. */
    record Stored(
            UUID id,
            ImportState status,
            byte[] bodySha256,
            long bodyBytes,
            int chunks,
            long watermarkLine,
            int errorCount,
            Long orgId,
            boolean mayCreateAdmins) {}

    String COLUMNS = "id, status, body_sha256, body_bytes, chunks, watermark_line, "
            + "jsonb_array_length(errors) as error_count, org_id, may_create_admins";

    /** A new import of organisation {@code orgId}, whose rows may be admins if {@code mayCreateAdmins}. */
    @SqlUpdate("insert into imports (id, status, org_id, may_create_admins) values (:id, 'uploading', :orgId, :admins)")
    void create(@Bind("id") UUID id, @Bind("orgId") long orgId, @Bind("admins") boolean mayCreateAdmins);

    @SqlUpdate("insert into import_chunks (import_id, seq, data) values (:id, :seq, :data)")
    void addChunk(@Bind("id") UUID id, @Bind("seq") int seq, @Bind("data") byte[] data);

    @SqlUpdate("update imports set status = 'queued', body_sha256 = :sha, body_bytes = :bytes, chunks = :chunks "
            + "where id = :id and status = 'uploading'")
    int uploaded(
            @Bind("id") UUID id, @Bind("sha") byte[] sha256, @Bind("bytes") long bytes, @Bind("chunks") int chunks);

    @SqlQuery("select " + COLUMNS + " from imports where id = :id")
    Optional<Stored> find(@Bind("id") UUID id);

    @SqlQuery("select data from import_chunks where import_id = :id and seq = :seq")
    Optional<byte[]> chunk(@Bind("id") UUID id, @Bind("seq") int seq);

    @SqlUpdate("update imports set status = 'processing', started_at = coalesce(started_at, now()) "
            + "where id = :id and status in ('queued', 'processing')")
    int processing(@Bind("id") UUID id);

    /** Where organisation {@code orgId}'s import {@code id} stands; empty for another organisation's. */
    @SqlQuery("select id, status, rows_imported + rows_rejected as rows_total, rows_imported, rows_rejected, "
            + "errors::text as errors, reason "
            + "from imports where id = :id and org_id = :orgId and status <> 'uploading'")
    // mapped by ImportStatusMapper, which Imports registers on the writer's Jdbi
    Optional<ImportStatus> status(@Bind("id") UUID id, @Bind("orgId") long orgId);

    /** Whether import {@code id} exists in any organisation: only asked after a refused status, for its count. */
    @SqlQuery("select exists (select 1 from imports where id = :id and status <> 'uploading')")
    boolean exists(@Bind("id") UUID id);

    /** Imports whose job may have been lost (stored, then the process died before enqueueing). */
    @SqlQuery("select id, body_bytes from imports where status = 'queued'")
    @RegisterConstructorMapper(Pending.class)
    java.util.List<Pending> queued();

    record Pending(UUID id, long bodyBytes) {}

    /** Failed for good: see {@link ImportJob}, which frees its chunks in the same transaction. */
    @SqlUpdate("update imports set status = 'failed', reason = :reason, finished_at = now() where id = :id")
    void failed(@Bind("id") UUID id, @Bind("reason") String reason);

    /**
     * Records one committed batch (advance.sql): 1, or 0 when the watermark is no longer
     * {@code expected} (another run advanced it).
     */
    @SqlUpdate
    @UseClasspathSqlLocator
    int advance(
            @Bind("id") UUID id,
            @Bind("expected") long expected,
            @Bind("watermark") long watermark,
            @Bind("imported") long imported,
            @Bind("rejected") long rejected,
            @Bind("errors") String errorsJson);

    /**
     * In a batch's transaction: the organisations it added users to, one row each; those an
     * earlier batch recorded cost an index probe and no write, so an import's fan-out stays linear.
     */
    @SqlUpdate("insert into import_orgs (import_id, org_id) select :id, unnest(cast(:orgs as bigint[])) "
            + "on conflict do nothing")
    void touched(@Bind("id") UUID id, @Bind("orgs") Long[] orgs);

    /** Marks the import succeeded (finish.sql): the orgs it touched, or empty if another run finished it. */
    @SqlQuery
    @UseClasspathSqlLocator
    Optional<Long[]> finish(@Bind("id") UUID id, @Bind("expected") long expected);

    /** Frees the stored upload once its rows are in, or once the import failed for good. */
    @SqlUpdate("delete from import_chunks where import_id = :id")
    void deleteChunks(@Bind("id") UUID id);

    /** An upload that could not be stored to the end (its chunks go with it). */
    @SqlUpdate("delete from imports where id = :id and status = 'uploading'")
    int deleteUploading(@Bind("id") UUID id);

    /**
     * Up to {@code batch} imports that finished (succeeded or failed) longer than the retention
     * ago, with their organisations and any chunks left; rows a run holds are skipped.
     */
    @SqlUpdate("delete from imports where id in (select id from imports "
            + "where finished_at < now() - make_interval(secs => :retentionSeconds) "
            + "limit :batch for update skip locked)")
    int purgeFinished(@Bind("retentionSeconds") long retentionSeconds, @Bind("batch") int batch);

    /**
     * Up to {@code batch} uploads left 'uploading' longer than {@code abandonSeconds} ago (their
     * instance died while storing them), with their chunks.
     */
    @SqlUpdate("delete from imports where id in (select id from imports "
            + "where status = 'uploading' and created_at < now() - make_interval(secs => :abandonSeconds) "
            + "limit :batch for update skip locked)")
    int purgeAbandoned(@Bind("abandonSeconds") long abandonSeconds, @Bind("batch") int batch);
}
