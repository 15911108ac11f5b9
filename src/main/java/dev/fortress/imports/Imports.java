package dev.fortress.imports;

import dev.fortress.db.Databases;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.http.Routes;
import dev.fortress.jobs.Jobs;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import java.util.Set;
import java.util.function.Consumer;

/** The imports feature: upload route, the job that loads rows, and its metrics. */
public final class Imports {

    private Imports() {
    }

    /**
     * @param orgsChanged told which orgs gained users when an import succeeds (the stats cache
     *                    invalidates them)
     */
    public static Imports build(ImportsConfiguration config, Environment environment, Routes routes,
                                Databases databases, Jobs jobs, IdempotentWrites idempotent,
                                Consumer<Set<Long>> orgsChanged) {
        ImportMetrics metrics = new ImportMetrics(environment.metrics());
        ImportDao dao = databases.writer().onDemand(ImportDao.class);
        jobs.addHandler(ImportJob.class, new ImportJob(databases.writer(), environment.getValidator(), config,
                metrics, orgsChanged));
        ImportsResource resource = new ImportsResource(
                new ImportUploads(databases.writer(), config.getMaxUploadSize().toBytes(), metrics, idempotent),
                dao, jobs, idempotent, config.getMaxUploadSize().toBytes(), routes.access().refusals("imports"));
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
