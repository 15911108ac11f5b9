package dev.fortress.imports;

import com.codahale.metrics.Timer;
import jakarta.validation.Validator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import org.jdbi.v3.core.Jdbi;
import org.jobrunr.jobs.context.JobContext;
import org.jobrunr.jobs.context.JobDashboardProgressBar;
import org.jobrunr.jobs.lambdas.JobRequest;
import org.jobrunr.jobs.lambdas.JobRequestHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JobRunr job that runs one import: claims it (queued, or processing when a run died), has
 * {@link ImportLoader} load its rows, then marks it succeeded and frees its stored upload in one
 * transaction, or failed (a wrong header; the last retry) with its upload freed likewise, and reports: metrics, the dashboard's
 * progress bar, and the orgs that gained users. A run that dies or is retried resumes after the
 * last committed batch, so every valid row lands exactly once.
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
    /** Row errors an import keeps for GET /imports/{id}; it counts them all. */
    static final int MAX_ERRORS = 100;
    /** JobRunr's retries (its default); the last attempt marks the import failed instead of leaving it processing. */
    private static final int MAX_RETRIES = org.jobrunr.jobs.filters.RetryFilter.DEFAULT_NBR_OF_RETRIES;

    private final Jdbi writer;
    private final ImportLoader loader;
    private final ImportMetrics metrics;
    private final Consumer<Set<Long>> orgsChanged;

    ImportJob(
            Jdbi writer,
            Validator validator,
            ImportsConfiguration config,
            ImportMetrics metrics,
            ImportStatusMapper format,
            Consumer<Set<Long>> orgsChanged) {
        this.writer = writer;
        this.loader = new ImportLoader(writer, validator, config, metrics, MAX_ERRORS, format);
        this.metrics = metrics;
        this.orgsChanged = orgsChanged;
    }

    @Override
    public void run(Request request) {
        UUID id = request.importId();
        ImportDao dao = writer.onDemand(ImportDao.class);
        ImportDao.Stored stored = dao.find(id).orElse(null);
        if (stored == null || !stored.status().unfinished()) {
            LOG.info(
                    "import {} is {}: nothing to do",
                    id,
                    stored == null ? "gone" : stored.status().value());
            return;
        }
        JobContext context = jobContext();
        try (Timer.Context ignored = metrics.duration.time()) {
            if (stored.status() == ImportState.QUEUED) {
                metrics.started.mark();
            }
            dao.processing(id);
            ImportDao.Stored claimed = dao.find(id).orElseThrow();
            JobDashboardProgressBar progress = context == null ? null : context.progressBar(claimed.bodyBytes());
            ImportLoader.Outcome outcome = loader.load(claimed, bytes -> {
                if (progress != null) {
                    progress.setProgress(bytes);
                }
            });
            if (outcome instanceof ImportLoader.BadHeader header) {
                fail(id, header.reason());
                LOG.info("import {} failed: {}", id, header.reason());
                return;
            }
            succeed(id, ((ImportLoader.Loaded) outcome).watermark());
            if (progress != null) {
                progress.setProgress(claimed.bodyBytes());
            }
        } catch (RuntimeException | IOException e) {
            if (context != null && context.amountOfFailures() >= MAX_RETRIES) {
                fail(id, "gave up after " + MAX_RETRIES + " retries: " + e.getMessage());
            }
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    /** Failed for good, and its stored upload freed with it: nothing will read it again. */
    private void fail(UUID id, String reason) {
        writer.useTransaction(h -> {
            ImportDao dao = h.attach(ImportDao.class);
            dao.failed(id, reason);
            dao.deleteChunks(id);
        });
        metrics.failed.mark();
    }

    /** Succeeded, if {@code watermark} is still the one its last batch left; chunks freed with it. */
    private void succeed(UUID id, long watermark) {
        Long[] orgs = writer.inTransaction(h -> {
            ImportDao dao = h.attach(ImportDao.class);
            Long[] touched = dao.finish(id, watermark)
                    .orElseThrow(() -> new IllegalStateException("import " + id + " was finished by another run"));
            dao.deleteChunks(id);
            return touched;
        });
        metrics.succeeded.mark();
        LOG.info("import {} succeeded; {} orgs gained users", id, orgs.length);
        orgsChanged.accept(Set.of(orgs));
    }
}
