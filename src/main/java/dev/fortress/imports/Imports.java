package dev.fortress.imports;

import com.codahale.metrics.Gauge;
import dev.fortress.db.Databases;
import dev.fortress.http.Routes;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.jobs.Jobs;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import java.util.Set;
import java.util.function.Consumer;
import org.jobrunr.scheduling.RecurringJobBuilder;

/** The imports feature: upload route and its spool and limits, the job that loads rows, the purge, metrics. */
public final class Imports {

    private Imports() {}

    /**
     * @param orgsChanged told which orgs gained users when an import succeeds (the stats cache
     *                    invalidates them)
     */
    public static Imports build(
            ImportsConfiguration config,
            Environment environment,
            Routes routes,
            Databases databases,
            Jobs jobs,
            IdempotentWrites idempotent,
            Consumer<Set<Long>> orgsChanged) {
        ImportMetrics metrics = new ImportMetrics(environment.metrics());
        ImportStatusMapper format = new ImportStatusMapper(environment.getObjectMapper());
        databases.writer().registerRowMapper(format);
        ImportDao dao = databases.writer().onDemand(ImportDao.class);
        jobs.addHandler(
                ImportJob.class,
                new ImportJob(databases.writer(), environment.getValidator(), config, metrics, format, orgsChanged));
        UploadSpool spool = new UploadSpool(config.getSpoolDirectory());
        environment.lifecycle().manage(spool);
        environment.metrics().register("dev.fortress.imports.spool-bytes", (Gauge<Long>) spool::bytes);
        UploadLimits limits = new UploadLimits(
                config.getMaxUploadsPerOrg(),
                config.getMaxConcurrentUploads(),
                config.getUploadRetryAfter().toSeconds(),
                environment.metrics());
        long maxBytes = config.getMaxUploadSize().toBytes();
        ImportsResource resource = new ImportsResource(
                new ImportUploads(databases.writer(), spool, maxBytes, metrics, idempotent),
                dao,
                jobs,
                idempotent,
                maxBytes,
                routes.access().refusals("imports"),
                limits);
        ImportPurge purge = new ImportPurge(
                databases.writer(),
                config.getRetention().toSeconds(),
                config.getAbandonAfter().toSeconds(),
                environment.metrics().meter("dev.fortress.imports.purged"));
        jobs.addHandler(ImportPurge.class, purge);
        jobs.addRecurring(RecurringJobBuilder.aRecurringJob()
                .withId("imports-purge")
                .withName("Purge imports past their retention and abandoned uploads")
                .withCron(config.getPurgeCron())
                .withJobRequest(new ImportPurge.Request()));
        environment.admin().addTask(purge.task());
        routes.resource(resource);
        // After Jobs has started (managed objects start in order): heal imports stored by a process
        // that died before it could enqueue their job. Enqueueing by id makes this a no-op otherwise.
        environment.lifecycle().manage(new Managed() {
            @Override
            public void start() {
                for (ImportDao.Pending pending : dao.queued()) {
                    resource.enqueue(pending.id(), pending.bodyBytes());
                }
            }
        });
        return new Imports();
    }
}
