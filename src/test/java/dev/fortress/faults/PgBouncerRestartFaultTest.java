package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FaultLoad;
import dev.fortress.testing.FaultLoad.Call;
import dev.fortress.testing.FaultSummary;
import dev.fortress.testing.FaultUsers;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedPgBouncer;
import dev.fortress.testing.OwnedRedis;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 3 of the fault suite: both datasources through a PgBouncer of the test's own (the
 * committed deploy/pgbouncer.ini, transaction pooling), declared as a transaction pooler, and that
 * PgBouncer stopped (SIGTERM: immediate shutdown, every connection closed) and started again on
 * the same port a second later, under load. Errors only inside the restart window, then none.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PgBouncerRestartFaultTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final OwnedPgBouncer BOUNCER = new OwnedPgBouncer(DB);
    private static final OwnedRedis REDIS = new OwnedRedis();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            BOUNCER.jdbcUrl(DB.name()),
            BOUNCER.jdbcUrl(DB.name()),
            REDIS.override(),
            ConfigOverride.config("writerDatabase.transactionPooler", "true"),
            ConfigOverride.config("readerDatabase.transactionPooler", "true"));

    private static final Duration DOWN = Duration.ofSeconds(1);
    private static final Duration SLACK = Duration.ofSeconds(1);

    @Test
    void pgBouncerRestartedMidLoadCostsErrorsOnlyInItsWindowAndNoWrite() throws Exception {
        var writer = APP.getConfiguration().getWriterDatabase();
        Duration maxWait = writer.getMaxWaitForConnection().toJavaDuration();
        // A pooled connection broken by the restart is dropped when next validated (at most
        // validationInterval after its last check); a request may still wait maxWait for one.
        Duration settle = writer.getValidationInterval().toJavaDuration().plus(maxWait);
        long org = FaultUsers.freshOrg();
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, org));
        FaultUsers users = new FaultUsers(api, org);

        FaultSummary summary = new FaultSummary("3. pgbouncer restarted");
        FaultLoad load = FaultLoad.start(summary, 8, users.createsAndReads(2));
        FaultLoad.hold(Duration.ofSeconds(2));
        long stopping = System.nanoTime();
        BOUNCER.stop();
        long stopped = System.nanoTime();
        FaultLoad.hold(DOWN);
        BOUNCER.start();
        long restarted = System.nanoTime();
        Call firstOk = load.await(restarted, Call::ok, Duration.ofSeconds(10)).orElse(null);
        FaultLoad.hold(Duration.ofSeconds(4));
        List<Call> calls = load.stop();

        FaultUsers.Rows rows = users.verify(DB.jdbi(), calls);
        List<Call> errors = calls.stream().filter(c -> !c.ok()).toList();
        // No pool here escapes the restart, so the machine's stall is read from the requests the
        // restart cannot touch: those done before the stop, and those begun once the window the
        // mechanism allows (settle) is over, which run beside any late error the bound must allow.
        long settled = restarted + settle.toNanos();
        Duration slack = FaultLoad.stall(calls, c -> c.ended() < stopping || c.started() > settled, SLACK);
        long windowEnd = settled + slack.toNanos();
        Duration recovery = firstOk == null ? null : Duration.ofNanos(firstOk.ended() - restarted);
        Duration lastErrorAfterRestart = errors.stream()
                .map(c -> Duration.ofNanos(c.ended() - restarted))
                .max(Duration::compareTo)
                .orElse(Duration.ZERO);
        long unknown = errors.stream()
                .filter(c -> c.route().equals(FaultUsers.ROUTE) && c.started() <= stopped)
                .count();
        summary.report(
                rows.lost(),
                rows.duplicated(),
                recovery,
                String.format(
                        "SIGTERM, down %d ms, same port: %d x 503 + Retry-After, the last %+d ms from the restart "
                                + "(bound +%d ms), none after; %d writes under way at the stop answered 503 with their outcome "
                                + "unknown: %d committed",
                        Duration.ofNanos(restarted - stopping).toMillis(),
                        errors.size(),
                        lastErrorAfterRestart.toMillis(),
                        Duration.ofNanos(windowEnd - restarted).toMillis(),
                        unknown,
                        rows.committedDespiteError().size()));

        assertThat(errors).as("the restart was felt").isNotEmpty();
        assertThat(errors)
                .as("every error is a 503 with Retry-After: 1")
                .allMatch(c -> c.status() == 503 && "1".equals(c.retryAfter()));
        assertThat(errors)
                .as("errors only inside [stop, restart + validationInterval + maxWait + slack]")
                .allMatch(c -> c.ended() >= stopping && c.ended() <= windowEnd);
        assertThat(calls)
                .filteredOn(c -> c.started() > windowEnd)
                .as("and none after")
                .isNotEmpty()
                .allMatch(Call::ok);
        assertThat(firstOk).as("requests succeed again after the restart").isNotNull();

        assertThat(rows.lost()).as("every 201 is in the database").isZero();
        assertThat(rows.duplicated()).isZero();
        // As with the writer outage: a write whose statement had reached PostgreSQL when PgBouncer
        // closed its connection may have committed; only a write under way at the stop can.
        assertThat(rows.committedDespiteError())
                .as("writes that answered an error but are in the database")
                .allMatch(c -> c.started() <= stopped);
    }
}
