package dev.fortress.idempotency;

import dev.fortress.jobs.Jobs;
import io.dropwizard.core.setup.Environment;
import org.jdbi.v3.core.Jdbi;
import org.jobrunr.scheduling.RecurringJobBuilder;

/** Idempotent writes: the key store the write routes share, its purge job and admin task. */
public final class Idempotency {

    private final IdempotentWrites writes;

    private Idempotency(IdempotentWrites writes) {
        this.writes = writes;
    }

    public static Idempotency build(IdempotencyConfiguration config, Environment environment, Jdbi writer, Jobs jobs) {
        long retention = config.getRetention().toSeconds();
        IdempotencyPurge purge =
                new IdempotencyPurge(writer, retention, environment.metrics().meter("dev.fortress.idempotency.purged"));
        jobs.addHandler(IdempotencyPurge.class, purge);
        jobs.addRecurring(RecurringJobBuilder.aRecurringJob()
                .withId("idempotency-purge")
                .withName("Purge expired Idempotency-Keys")
                .withCron(config.getPurgeCron())
                .withJobRequest(new IdempotencyPurge.Request()));
        environment.admin().addTask(purge.task());
        return new Idempotency(
                new IdempotentWrites(writer, environment.getObjectMapper(), retention, environment.metrics()));
    }

    /** What the write routes run their writes through, keyed or not. */
    public IdempotentWrites writes() {
        return writes;
    }
}
