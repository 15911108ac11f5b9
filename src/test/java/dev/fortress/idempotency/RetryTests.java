package dev.fortress.idempotency;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedPgBouncer;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

/** What the tests of a write run again by the server share. */
final class RetryTests {

    static final String RETRIED = "dev.fortress.idempotency.retried";

    private RetryTests() {}

    /**
     * An instance as {@link #writerMeetsTheChangeOnAWrite} makes it, whose writer's URL names
     * {@code bouncer} first and {@code db}'s server second ({@code targetServerType=primary}), declared
     * as behind a transaction pooler: what the bouncer is sent to next, its pooled connections meet.
     */
    static DropwizardAppExtension<FortressConfiguration> writingThrough(OwnedPgBouncer bouncer, TestDatabase db) {
        return FortressApp.on(
                db,
                "jdbc:postgresql://127.0.0.1:" + bouncer.port() + "," + db.host() + ":" + db.port() + "/" + db.name()
                        + "?targetServerType=primary&hostRecheckSeconds=1",
                db.url(),
                writerMeetsTheChangeOnAWrite(ConfigOverride.config("writerDatabase.transactionPooler", "true")));
    }

    /**
     * An instance whose next write meets a change of the writer on its statement: the pool checks a
     * connection only after an hour, writes wait up to 5 s for a primary, and no writer statement of
     * the instance's own (JobRunr's polls, the keys' last use, the scheduled health checks) may meet
     * the change first, since its failure would have the pool check every borrow and the write would
     * then never meet it. Then {@code more}.
     */
    static ConfigOverride[] writerMeetsTheChangeOnAWrite(ConfigOverride... more) {
        List<ConfigOverride> overrides = new ArrayList<>(List.of(
                ConfigOverride.config("writerDatabase.validationInterval", "1h"),
                ConfigOverride.config("writerDatabase.primaryWait", "5s"),
                ConfigOverride.config("jobs.mode", "api"),
                ConfigOverride.config("auth.lastUseFlushInterval", "1h")));
        overrides.addAll(healthChecksHourly());
        overrides.addAll(List.of(more));
        return overrides.toArray(ConfigOverride[]::new);
    }

    /**
     * Every scheduled health check of config.yml but the warm-up's, run once an hour: the writer's, the
     * partitions' and the rollups' run statements on the writer (every 2 to 5 s), and one that ran
     * between the change and the write met the change first, so the pool checked the write's borrow,
     * replaced the refused connection with one straight to the primary, and the write never met the
     * change (PoolerLoginFailingRetryTest, once beside a CPU-bound process; every time with a 2.5 s
     * wait put between its change and its write).
     */
    private static List<ConfigOverride> healthChecksHourly() {
        JsonNode checks;
        try {
            checks = new YAMLMapper()
                    .readTree(new File(FortressApp.configPath()))
                    .path("health")
                    .path("healthChecks");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<ConfigOverride> hourly = new ArrayList<>();
        for (int i = 0; i < checks.size(); i++) {
            if (!"warmup".equals(checks.get(i).path("name").asText())) {
                hourly.add(ConfigOverride.config("health.healthChecks[" + i + "].schedule.checkInterval", "1h"));
                hourly.add(ConfigOverride.config("health.healthChecks[" + i + "].schedule.downtimeInterval", "1h"));
            }
        }
        return hourly;
    }

    /**
     * POST /users of a member of organisation 9 with {@code email}@x.io, as the caller with API key
     * {@code callerKey}, with an Idempotency-Key when {@code idempotencyKey} is not null.
     */
    static HttpResponse<String> postUser(
            DropwizardAppExtension<FortressConfiguration> app, String callerKey, String email, String idempotencyKey) {
        Http caller = new Http("127.0.0.1", app.getLocalPort()).as(callerKey);
        HttpRequest.Builder request = HttpRequest.newBuilder(caller.uri("/users"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"email\":\"" + email + "@x.io\",\"role\":\"member\",\"orgId\":9,\"age\":33}"));
        if (idempotencyKey != null) {
            request.header(IdempotentWrites.KEY_HEADER, idempotencyKey);
        }
        return caller.send(request);
    }

    /** The users with {@code email}@x.io on {@code db}'s own server (the primary). */
    static long usersWithEmail(TestDatabase db, String email) {
        return db.jdbi()
                .withHandle(h -> h.select("select count(*) from users where email = ?", email + "@x.io")
                        .mapTo(Long.class)
                        .one());
    }
}
