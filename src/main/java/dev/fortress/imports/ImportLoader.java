package dev.fortress.imports;

import dev.fortress.db.SqlStates;
import dev.fortress.db.StatementTimeoutDao;
import dev.fortress.users.UserWriteDao;
import jakarta.validation.Validator;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads one import's rows: streams the stored upload through {@link CsvRecordReader}, validates
 * each row with {@link RowValidator}, and commits them in batches on a thread of its own while
 * the next batch is parsed. Each batch is one transaction: COPY straight into {@code users}; only
 * if an email is taken (in users, or earlier in the file) is that COPY undone and the batch
 * staged and inserted row by row, naming the refused lines; then the import's watermark and
 * counters advance. Lines up to the stored watermark were committed by an earlier run and are
 * skipped, so every valid row lands exactly once however often this runs.
 */
final class ImportLoader {

    private static final Logger LOG = LoggerFactory.getLogger(ImportLoader.class);

    sealed interface Outcome permits Loaded, BadHeader {}

    /** Every row is committed; {@code watermark} is the line the last batch left. */
    record Loaded(long watermark) implements Outcome {}

    /** The header is not {@code email,role,org_id,age}: no row was read. */
    record BadHeader(String reason) implements Outcome {}

    private final Jdbi writer;
    private final Validator validator;
    private final ImportsConfiguration config;
    private final ImportMetrics metrics;
    private final int maxErrors;
    private final ImportStatusMapper format;

    /**
     * @param maxErrors row errors an import keeps (it counts them all)
     * @param format    writes the row errors as GET /imports/{id} reads them
     */
    ImportLoader(
            Jdbi writer,
            Validator validator,
            ImportsConfiguration config,
            ImportMetrics metrics,
            int maxErrors,
            ImportStatusMapper format) {
        this.writer = writer;
        this.format = format;
        this.validator = validator;
        this.config = config;
        this.metrics = metrics;
        this.maxErrors = maxErrors;
    }

    /** Loads {@code stored} (claimed: processing), telling {@code progress} the bytes read after each batch. */
    Outcome load(ImportDao.Stored stored, LongConsumer progress) throws IOException {
        RowValidator rows = new RowValidator(validator, config.getMaxLineSize().toBytes());
        RowValidator.Owner owner = new RowValidator.Owner(stored.orgId(), stored.mayCreateAdmins());
        try (InputStream csv = new ChunkInputStream(writer.onDemand(ImportDao.class), stored.id(), stored.chunks());
                Committer committer = new Committer(stored)) {
            CsvRecordReader reader =
                    new CsvRecordReader(csv, (int) config.getMaxLineSize().toBytes());
            String headerProblem = rows.headerProblem(reader.next());
            if (headerProblem != null) {
                return new BadHeader(headerProblem);
            }
            ImportBatch batch = new ImportBatch();
            CsvRecordReader.Record record;
            while ((record = reader.next()) != null) {
                if (record.line() <= stored.watermarkLine()) {
                    continue; // committed by an earlier run of this job
                }
                batch.add(record, owner.admit(rows.validate(record)));
                if (batch.staged == config.getBatchRows()) {
                    committer.submit(batch);
                    batch = new ImportBatch();
                    progress.accept(reader.bytesRead());
                }
            }
            committer.submit(batch);
            return new Loaded(committer.drain());
        }
    }

    /**
     * Commits one run's batches in order on its own thread, so that PostgreSQL loads one batch
     * while the run's thread parses and validates the next (two cores, both busy). At most one
     * batch waits: memory stays at two batches whatever the file's size. Each commit advances the
     * watermark only from the value the previous one left, so the order and exactly-once hold.
     */
    private final class Committer implements AutoCloseable {
        private final UUID id;
        private final ExecutorService thread;
        private Future<?> inFlight = CompletableFuture.completedFuture(null);
        private long watermark;
        private int errorsKept;

        Committer(ImportDao.Stored stored) {
            this.id = stored.id();
            this.watermark = stored.watermarkLine();
            this.errorsKept = stored.errorCount();
            // Not a lifecycle executorService from Imports.build: Dropwizard stops managed objects in
            // reverse order, so it would shut down before Jobs and refuse a running import's next
            // batch during the 10 s JobRunr gives running jobs to finish; this thread lives and dies
            // with its run (close() below), named after its import for thread dumps.
            this.thread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "import-loader-" + id);
                t.setDaemon(true);
                return t;
            });
        }

        void submit(ImportBatch batch) {
            await();
            if (batch.total > 0) {
                inFlight = thread.submit(() -> commit(batch));
            }
        }

        /** Waits for the last batch; the watermark it left. */
        long drain() {
            await();
            return watermark;
        }

        private void await() {
            try {
                inFlight.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("import " + id + " interrupted", e);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
        }

        private void commit(ImportBatch batch) {
            long imported = writer.inTransaction(h -> {
                h.attach(StatementTimeoutDao.class).extendTo(config.getBatchStatementTimeout());
                ImportBatchDao rows = h.attach(ImportBatchDao.class);
                List<Long> orgs = new ArrayList<>();
                long added = 0;
                if (batch.staged > 0) {
                    byte[] copy = batch.copyRows();
                    rows.savepoint();
                    try {
                        rows.copyUsers(copy);
                        rows.releaseSavepoint();
                        added = batch.staged;
                        orgs.addAll(batch.orgs);
                    } catch (UnableToExecuteStatementException e) {
                        if (!SqlStates.isUniqueViolation(e, UserWriteDao.UNIQUE_EMAIL)) {
                            throw e;
                        }
                        // Some email is taken (or repeated in the batch): undo the COPY and go row by row.
                        rows.rollbackToSavepoint();
                        rows.releaseSavepoint();
                        added = insertSkippingTaken(rows, batch, copy, orgs);
                    }
                }
                batch.errors.sort(Comparator.comparingLong(ImportStatus.RowError::line));
                List<ImportStatus.RowError> kept =
                        batch.errors.subList(0, Math.min(batch.errors.size(), maxErrors - errorsKept));
                ImportDao imports = h.attach(ImportDao.class);
                int advanced = imports.advance(
                        id, watermark, batch.lastLine, added, batch.total - added, format.errorsJson(kept));
                if (advanced != 1) {
                    throw new IllegalStateException("import " + id + " was advanced by another run; this one stops");
                }
                if (!orgs.isEmpty()) {
                    imports.touched(id, orgs.toArray(Long[]::new));
                }
                errorsKept += kept.size();
                return added;
            });
            watermark = batch.lastLine;
            metrics.rowsImported.mark(imported);
            metrics.rowsRejected.mark(batch.total - imported);
        }

        /** The slow path: stage the batch, insert what is free, and name the rows that were not. */
        private long insertSkippingTaken(ImportBatchDao rows, ImportBatch batch, byte[] copy, List<Long> orgs) {
            rows.createStage();
            rows.copyStage(copy);
            long added = 0;
            for (ImportBatchDao.OrgAdded org : rows.insertStaged()) {
                orgs.add(org.orgId());
                added += org.added();
            }
            if (added < batch.staged) {
                for (ImportBatchDao.Refused refused : rows.refused()) {
                    batch.reject(
                            batch.line(refused.pos()),
                            "email " + refused.email()
                                    + " already exists (in the organisation or earlier in this file)");
                }
            }
            return added;
        }

        /** Lets a commit under way finish (it is one transaction either way), then stops the thread. */
        @Override
        public void close() {
            thread.shutdown();
            try {
                if (!thread.awaitTermination(5, TimeUnit.MINUTES)) {
                    LOG.warn("import {}: a batch commit is still running after 5 minutes", id);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
