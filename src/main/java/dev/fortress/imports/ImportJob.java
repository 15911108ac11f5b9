package dev.fortress.imports;

import com.codahale.metrics.Timer;
import dev.fortress.db.SqlStates;
import dev.fortress.users.NewUser;
import dev.fortress.users.UserWriteDao;
import jakarta.validation.Validator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.jobrunr.jobs.context.JobContext;
import org.jobrunr.jobs.context.JobDashboardProgressBar;
import org.jobrunr.jobs.lambdas.JobRequest;
import org.jobrunr.jobs.lambdas.JobRequestHandler;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one import: streams the stored CSV through the parser, validates each row, and loads
 * the valid ones in batches while the next batch is parsed. Each batch is one transaction:
 * COPY straight into {@code users}; only if an email is taken (in users, or earlier in the
 * file) is that COPY undone and the batch staged and inserted row by row, naming the refused
 * lines; then the import's watermark and counters advance. A run that dies or is retried
 * resumes after the last committed batch, so every valid row lands exactly once.
 */
public final class ImportJob implements JobRequestHandler<ImportJob.Request> {

    /** The job's only argument is the import's id; the rows stay in the database. */
    public record Request(UUID importId) implements JobRequest {
        @Override
        public Class<ImportJob> getJobRequestHandler() {
            return ImportJob.class;
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(ImportJob.class);
    static final int MAX_ERRORS = 100;
    /** JobRunr's retries (its default); the last attempt marks the import failed instead of leaving it processing. */
    private static final int MAX_RETRIES = org.jobrunr.jobs.filters.RetryFilter.DEFAULT_NBR_OF_RETRIES;

    /** The fast path: straight into users at COPY speed, when no row of the batch conflicts. */
    private static final String COPY_USERS = "copy users (email, role, org_id, age) from stdin (format csv)";
    /** The slow path's staging table; pos is the row's place in the batch (so, its line order). */
    private static final String STAGE = "create temp table import_stage (pos integer generated always as identity, "
            + "email text, role text, org_id bigint, age integer) on commit drop";
    private static final String COPY_STAGE = "copy import_stage (email, role, org_id, age) from stdin (format csv)";
    /**
     * Inserts the staged rows in line order; ON CONFLICT DO NOTHING skips an email already in
     * users, or inserted by an earlier line of this same statement, at the cost of one index probe
     * that the insert makes anyway. Returns how many rows each org gained.
     */
    private static final String INSERT = """
            with inserted as (
                insert into users (email, role, org_id, age)
                select email, role, org_id, age from import_stage order by pos
                on conflict do nothing
                returning org_id
            )
            select org_id, count(*) as added from inserted group by org_id
            """;
    /**
     * Only when some rows were skipped: the staged rows that were not inserted. A row went in
     * when the users row with its email was written by this transaction (its xmin) and it is the
     * first row of the batch with that email.
     */
    private static final String REFUSED = """
            select s.pos, s.email from import_stage s
            where s.pos not in (
                select distinct on (lower(t.email)) t.pos
                from import_stage t
                join users u on lower(u.email) = lower(t.email)
                           and u.xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296
                order by lower(t.email), t.pos)
            """;
    private static final String ADVANCE = """
            update imports
               set watermark_line = :watermark,
                   rows_imported = rows_imported + :imported,
                   rows_rejected = rows_rejected + :rejected,
                   errors = errors || cast(:errors as jsonb),
                   touched_orgs = array(select distinct unnest(touched_orgs || cast(:orgs as bigint[])))
             where id = :id and status = 'processing' and watermark_line = :expected
            """;
    private static final String FINISH = """
            update imports set status = 'succeeded', finished_at = now()
             where id = :id and status = 'processing' and watermark_line = :expected
            returning touched_orgs
            """;

    private final Jdbi writer;
    private final Validator validator;
    private final ImportsConfiguration config;
    private final ImportMetrics metrics;
    private final Consumer<Set<Long>> orgsChanged;

    ImportJob(Jdbi writer, Validator validator, ImportsConfiguration config, ImportMetrics metrics,
              Consumer<Set<Long>> orgsChanged) {
        this.writer = writer;
        this.validator = validator;
        this.config = config;
        this.metrics = metrics;
        this.orgsChanged = orgsChanged;
    }

    @Override
    public void run(Request request) {
        UUID id = request.importId();
        ImportDao dao = writer.onDemand(ImportDao.class);
        ImportDao.Stored stored = dao.find(id).orElse(null);
        if (stored == null || !stored.status().unfinished()) {
            LOG.info("import {} is {}: nothing to do", id, stored == null ? "gone" : stored.status().value());
            return;
        }
        JobContext context = jobContext();
        try (Timer.Context ignored = metrics.duration.time()) {
            if (stored.status() == ImportState.QUEUED) {
                metrics.started.mark();
            }
            dao.processing(id);
            load(dao.find(id).orElseThrow(), dao, context);
        } catch (RuntimeException | IOException e) {
            if (context != null && context.amountOfFailures() >= MAX_RETRIES) {
                dao.failed(id, "gave up after " + MAX_RETRIES + " retries: " + e.getMessage());
                metrics.failed.mark();
            }
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    private void load(ImportDao.Stored stored, ImportDao dao, JobContext context) throws IOException {
        UUID id = stored.id();
        JobDashboardProgressBar progress = context == null ? null : context.progressBar(stored.bodyBytes());
        RowValidator rows = new RowValidator(validator, config.getMaxLineSize().toBytes());
        try (InputStream csv = new ChunkInputStream(dao, id, stored.chunks());
             Loader loader = new Loader(id, stored)) {
            CsvRecordReader reader = new CsvRecordReader(csv, (int) config.getMaxLineSize().toBytes());
            String headerProblem = rows.headerProblem(reader.next());
            if (headerProblem != null) {
                dao.failed(id, headerProblem);
                metrics.failed.mark();
                LOG.info("import {} failed: {}", id, headerProblem);
                return;
            }
            Batch batch = new Batch();
            CsvRecordReader.Record record;
            while ((record = reader.next()) != null) {
                if (record.line() <= stored.watermarkLine()) {
                    continue; // committed by an earlier run of this job
                }
                batch.add(record, rows.validate(record));
                if (batch.staged == config.getBatchRows()) {
                    loader.submit(batch);
                    batch = new Batch();
                    if (progress != null) {
                        progress.setProgress(reader.bytesRead());
                    }
                }
            }
            loader.submit(batch);
            loader.finish();
            if (progress != null) {
                progress.setProgress(stored.bodyBytes());
            }
        }
    }

    /** Rows read since the last hand-over to the loader, already COPY-encoded, and their errors. */
    private static final class Batch {
        final ByteArrayOutputStream copy = new ByteArrayOutputStream(1 << 20);
        final List<ImportStatus.RowError> errors = new ArrayList<>();
        final Set<Long> orgs = new java.util.HashSet<>();
        long[] lines = new long[1024];
        long lastLine;
        int staged;
        long total;
        long rejected;

        void add(CsvRecordReader.Record record, RowValidator.Outcome outcome) {
            total++;
            lastLine = record.line();
            if (outcome instanceof RowValidator.Valid valid) {
                encode(valid.user());
                orgs.add(valid.user().orgId());
                if (staged == lines.length) {
                    lines = java.util.Arrays.copyOf(lines, staged * 2);
                }
                lines[staged++] = record.line();
            } else {
                reject(record.line(), ((RowValidator.Invalid) outcome).message());
            }
        }

        /** Bounded by the batch's size; trimmed to the import's first errors when committed. */
        void reject(long line, String message) {
            rejected++;
            errors.add(new ImportStatus.RowError(line, message));
        }

        private void encode(NewUser user) {
            String row = quote(user.email()) + "," + user.role() + "," + user.orgId() + ","
                    + user.age() + "\n";
            copy.writeBytes(row.getBytes(StandardCharsets.UTF_8));
        }

        private static String quote(String text) {
            return "\"" + text.replace("\"", "\"\"") + "\"";
        }
    }

    /**
     * Commits batches in order on its own thread, so that PostgreSQL loads one batch while this
     * job's thread parses and validates the next (two cores, both busy). At most one batch waits:
     * memory stays at two batches whatever the file's size. Each commit advances the watermark
     * only from the value the previous one left, so the order and exactly-once hold.
     */
    private final class Loader implements AutoCloseable {
        private final UUID id;
        private final java.util.concurrent.ExecutorService thread;
        private java.util.concurrent.Future<?> inFlight = java.util.concurrent.CompletableFuture.completedFuture(null);
        private long watermark;
        private int errorsKept;

        Loader(UUID id, ImportDao.Stored stored) {
            this.id = id;
            this.watermark = stored.watermarkLine();
            this.errorsKept = stored.errorCount();
            this.thread = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "import-loader-" + id);
                t.setDaemon(true);
                return t;
            });
        }

        void submit(Batch batch) {
            await();
            if (batch.total > 0) {
                inFlight = thread.submit(() -> commit(batch));
            }
        }

        void finish() {
            await();
            Long[] orgs = writer.inTransaction(h -> {
                Long[] touched = h.createQuery(FINISH).bind("id", id).bind("expected", watermark)
                        .mapTo(Long[].class).findOne()
                        .orElseThrow(() -> new IllegalStateException("import " + id + " was finished by another run"));
                h.createUpdate("delete from import_chunks where import_id = :id").bind("id", id).execute();
                return touched;
            });
            metrics.succeeded.mark();
            LOG.info("import {} succeeded; {} orgs gained users", id, orgs.length);
            orgsChanged.accept(Set.of(orgs));
        }

        private void await() {
            try {
                inFlight.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("import " + id + " interrupted", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
        }

        private void commit(Batch batch) {
            long imported = writer.inTransaction(h -> {
                List<Long> orgs = new ArrayList<>();
                long added = 0;
                if (batch.staged > 0) {
                    byte[] rows = batch.copy.toByteArray();
                    h.execute("savepoint import_rows");
                    try {
                        copyIn(h, COPY_USERS, rows);
                        h.execute("release savepoint import_rows");
                        added = batch.staged;
                        orgs.addAll(batch.orgs);
                    } catch (UnableToExecuteStatementException e) {
                        if (!SqlStates.isUniqueViolation(e, UserWriteDao.UNIQUE_EMAIL)) {
                            throw e;
                        }
                        // Some email is taken (or repeated in the batch): undo the COPY and go row by row.
                        h.execute("rollback to savepoint import_rows");
                        // Back in the top transaction: REFUSED compares xmin with its id.
                        h.execute("release savepoint import_rows");
                        added = insertSkippingTaken(h, batch, rows, orgs);
                    }
                }
                batch.errors.sort(java.util.Comparator.comparingLong(ImportStatus.RowError::line));
                List<ImportStatus.RowError> kept =
                        batch.errors.subList(0, Math.min(batch.errors.size(), MAX_ERRORS - errorsKept));
                int advanced = h.createUpdate(ADVANCE)
                        .bind("id", id).bind("expected", watermark).bind("watermark", batch.lastLine)
                        .bind("imported", added)
                        .bind("rejected", batch.total - added)
                        .bind("errors", ImportStatusMapper.errorsJson(kept))
                        .bindArray("orgs", Long.class, orgs)
                        .execute();
                if (advanced != 1) {
                    throw new IllegalStateException("import " + id + " was advanced by another run; this one stops");
                }
                errorsKept += kept.size();
                return added;
            });
            watermark = batch.lastLine;
            metrics.rowsImported.mark(imported);
            metrics.rowsRejected.mark(batch.total - imported);
        }

        /** Lets a commit under way finish (it is one transaction either way), then stops the thread. */
        /** The slow path: stage the batch, insert what is free, and name the rows that were not. */
        private long insertSkippingTaken(Handle h, Batch batch, byte[] rows, List<Long> orgs) {
            h.execute(STAGE);
            copyIn(h, COPY_STAGE, rows);
            long added = 0;
            for (Map<String, Object> org : h.createQuery(INSERT).mapToMap().list()) {
                orgs.add(((Number) org.get("org_id")).longValue());
                added += ((Number) org.get("added")).longValue();
            }
            if (added < batch.staged) {
                h.createQuery(REFUSED).map((rs, ctx) -> {
                    batch.reject(batch.lines[rs.getInt("pos") - 1], "email " + rs.getString("email")
                            + " already exists (in users or earlier in this file)");
                    return 0;
                }).list();
            }
            return added;
        }

        @Override
        public void close() {
            thread.shutdown();
            try {
                if (!thread.awaitTermination(5, java.util.concurrent.TimeUnit.MINUTES)) {
                    LOG.warn("import {}: a batch commit is still running after 5 minutes", id);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void copyIn(Handle h, String copy, byte[] rows) {
        try {
            h.getConnection().unwrap(PGConnection.class).getCopyAPI()
                    .copyIn(copy, new java.io.ByteArrayInputStream(rows));
        } catch (java.sql.SQLException e) {
            throw new UnableToExecuteStatementException(e, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
