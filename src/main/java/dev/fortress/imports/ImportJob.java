package dev.fortress.imports;

import com.codahale.metrics.Timer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.users.NewUser;
import jakarta.validation.Validator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jobrunr.jobs.context.JobContext;
import org.jobrunr.jobs.context.JobDashboardProgressBar;
import org.jobrunr.jobs.lambdas.JobRequest;
import org.jobrunr.jobs.lambdas.JobRequestHandler;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one import: streams the stored CSV through the parser, validates each row, and loads
 * the valid ones in batches. Each batch is one transaction: COPY into a temporary staging
 * table, move into {@code users} (an email already there, or earlier in the file, is a row
 * error), and advance the import's watermark and counters. A run that dies or is retried
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
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int MAX_ERRORS = 100;
    /** JobRunr's default retries; the last attempt marks the import failed instead of leaving it processing. */
    private static final int MAX_RETRIES = 10;

    private static final String STAGE = "create temp table import_stage (line bigint, email text, role text, "
            + "org_id bigint, age integer) on commit drop";
    private static final String COPY = "copy import_stage (line, email, role, org_id, age) from stdin (format csv)";
    /**
     * Inserts the first row of each email (by line) that users does not hold yet, and returns
     * the lines that were refused as duplicates, plus the orgs that gained users.
     */
    private static final String MERGE = """
            with firsts as materialized (
                select distinct on (lower(email)) line, email, role, org_id, age
                from import_stage
                order by lower(email), line
            ), inserted as (
                insert into users (email, role, org_id, age)
                select email, role, org_id, age from firsts
                on conflict do nothing
                returning lower(email) as email_key, org_id
            )
            select 'duplicate' as kind, s.line, s.email, null::bigint as org_id
            from import_stage s
            where s.line not in (select f.line from firsts f join inserted i on i.email_key = lower(f.email))
            union all
            select 'org', null, null, org_id from inserted group by org_id
            """;
    private static final String ADVANCE = """
            update imports
               set watermark_line = :watermark,
                   rows_total = rows_total + :total,
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
        if (stored == null || !(stored.status().equals("queued") || stored.status().equals("processing"))) {
            LOG.info("import {} is {}: nothing to do", id, stored == null ? "gone" : stored.status());
            return;
        }
        JobContext context = jobContext();
        try (Timer.Context ignored = metrics.duration.time()) {
            if (stored.status().equals("queued")) {
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
        try (InputStream csv = new ChunkInputStream(dao, id, stored.chunks())) {
            CsvRecordReader reader = new CsvRecordReader(csv, (int) config.getMaxLineSize().toBytes());
            String headerProblem = rows.headerProblem(reader.next());
            if (headerProblem != null) {
                dao.failed(id, headerProblem);
                metrics.failed.mark();
                LOG.info("import {} failed: {}", id, headerProblem);
                return;
            }
            Batch batch = new Batch(stored);
            CsvRecordReader.Record record;
            while ((record = reader.next()) != null) {
                if (record.line() <= batch.watermark) {
                    continue; // committed by an earlier run of this job
                }
                batch.add(record, rows.validate(record));
                if (batch.staged == config.getBatchRows()) {
                    commit(id, batch);
                    if (progress != null) {
                        progress.setProgress(reader.bytesRead());
                    }
                }
            }
            commit(id, batch);
            finish(id, batch);
            if (progress != null) {
                progress.setProgress(stored.bodyBytes());
            }
        }
    }

    /** The rows read since the last commit, already COPY-encoded, and what is committed so far. */
    private static final class Batch {
        final ByteArrayOutputStream copy = new ByteArrayOutputStream(1 << 20);
        final List<ImportStatus.RowError> errors = new ArrayList<>();
        long watermark;
        long lastLine;
        int errorsKept;
        int staged;
        long total;
        long rejected;

        Batch(ImportDao.Stored stored) {
            watermark = stored.watermarkLine();
            lastLine = watermark;
            errorsKept = stored.errorCount();
        }

        void add(CsvRecordReader.Record record, RowValidator.Outcome outcome) {
            total++;
            lastLine = record.line();
            if (outcome instanceof RowValidator.Valid valid) {
                encode(record.line(), valid.user());
                staged++;
            } else {
                reject(record.line(), ((RowValidator.Invalid) outcome).message());
            }
        }

        void reject(long line, String message) {
            rejected++;
            if (errorsKept < MAX_ERRORS) { // bounded by the batch; trimmed to the first by line at commit
                errors.add(new ImportStatus.RowError(line, message));
            }
        }

        /** The batch's errors that still fit in the first MAX_ERRORS of the import, by line. */
        List<ImportStatus.RowError> keptErrors() {
            errors.sort(java.util.Comparator.comparingLong(ImportStatus.RowError::line));
            return errors.subList(0, Math.min(errors.size(), MAX_ERRORS - errorsKept));
        }

        private void encode(long line, NewUser user) {
            String row = line + "," + quote(user.email()) + "," + user.role() + "," + user.orgId() + ","
                    + user.age() + "\n";
            copy.writeBytes(row.getBytes(StandardCharsets.UTF_8));
        }

        private static String quote(String text) {
            return "\"" + text.replace("\"", "\"\"") + "\"";
        }

        void committed() {
            watermark = lastLine;
            errorsKept = Math.min(MAX_ERRORS, errorsKept + errors.size());
            errors.clear();
            copy.reset();
            staged = 0;
            total = 0;
            rejected = 0;
        }
    }

    private void commit(UUID id, Batch batch) {
        if (batch.total == 0) {
            return;
        }
        long imported = writer.inTransaction(h -> {
            List<Long> orgs = new ArrayList<>();
            if (batch.staged > 0) {
                h.execute(STAGE);
                copyIn(h, batch.copy.toByteArray());
                h.createQuery(MERGE).map((rs, ctx) -> {
                    if (rs.getString("kind").equals("org")) {
                        orgs.add(rs.getLong("org_id"));
                    } else {
                        batch.reject(rs.getLong("line"), "email " + rs.getString("email")
                                + " already exists (in users or earlier in this file)");
                    }
                    return 0;
                }).list();
            }
            long good = batch.total - batch.rejected;
            int advanced = h.createUpdate(ADVANCE)
                    .bind("id", id).bind("expected", batch.watermark).bind("watermark", batch.lastLine)
                    .bind("total", batch.total).bind("imported", good).bind("rejected", batch.rejected)
                    .bind("errors", json(batch.keptErrors()))
                    .bindArray("orgs", Long.class, orgs)
                    .execute();
            if (advanced != 1) {
                throw new IllegalStateException("import " + id + " was advanced by another run; this one stops");
            }
            return good;
        });
        metrics.rowsImported.mark(imported);
        metrics.rowsRejected.mark(batch.total - imported);
        batch.committed();
    }

    private void finish(UUID id, Batch batch) {
        Long[] orgs = writer.inTransaction(h -> {
            Long[] touched = h.createQuery(FINISH).bind("id", id).bind("expected", batch.watermark)
                    .mapTo(Long[].class).findOne()
                    .orElseThrow(() -> new IllegalStateException("import " + id + " was finished by another run"));
            h.createUpdate("delete from import_chunks where import_id = :id").bind("id", id).execute();
            return touched;
        });
        metrics.succeeded.mark();
        LOG.info("import {} succeeded; {} orgs gained users", id, orgs.length);
        orgsChanged.accept(Set.of(orgs));
    }

    private static void copyIn(Handle h, byte[] rows) {
        try {
            h.getConnection().unwrap(PGConnection.class).getCopyAPI()
                    .copyIn(COPY, new java.io.ByteArrayInputStream(rows));
        } catch (java.sql.SQLException e) {
            throw new org.jdbi.v3.core.statement.UnableToExecuteStatementException(e, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String json(List<ImportStatus.RowError> errors) {
        try {
            return JSON.writeValueAsString(errors);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
