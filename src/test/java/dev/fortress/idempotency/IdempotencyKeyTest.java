package dev.fortress.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.HostileHttp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import dev.fortress.transactions.NewTransaction;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Idempotency-Key rules (docs/api.md) on POST /users and POST /transactions, over HTTP, on the
 * real database, called with a key of organisation {@link #ORG} (another organisation's where a test
 * says so).
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class IdempotencyKeyTest {

    /**
     * Two tests hold a lock while a write waits behind it, one until its client (Http's 10 s
     * timeout) has given up: longer than the role's statement_timeout (5 s) would let the write wait.
     */
    private static final TestDatabase DB = TestDatabase.create()
            .withRoleDefault("statement_timeout", "60s")
            .withRoleDefault("idle_in_transaction_session_timeout", "60s");

    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB);
    /** The organisation of DB.aUser's users, which the tests' users and transactions belong to. */
    private static final long ORG = 1;

    private static final long OTHER_ORG = 77;
    private static long userId;
    private static long otherOrgsUser;
    private static String apiKey;
    private static String otherOrgsApiKey;

    @BeforeAll
    static void usersAndKeys() {
        userId = DB.aUser("idem-owner@x.io");
        otherOrgsUser = DB.jdbi()
                .withHandle(h -> h.createQuery("insert into users (email, role, org_id, age) "
                                + "values ('idem-other-owner@x.io', 'member', :org, 40) returning id")
                        .bind("org", OTHER_ORG)
                        .mapTo(Long.class)
                        .one());
        apiKey = TestKeys.of(DB, ORG);
        otherOrgsApiKey = TestKeys.of(DB, OTHER_ORG);
    }

    private static Http api() {
        return new Http("127.0.0.1", APP.getLocalPort()).as(apiKey);
    }

    private static AdminMetrics metrics() {
        return new AdminMetrics(APP.getAdminPort());
    }

    private static HttpResponse<String> post(String path, String key, String json) {
        return post(api(), path, key, json);
    }

    private static HttpResponse<String> post(Http api, String path, String key, String json) {
        HttpRequest.Builder request = HttpRequest.newBuilder(api.uri(path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (key != null) {
            request.header("Idempotency-Key", key);
        }
        return api.send(request);
    }

    private static String user(String email, int age) {
        return user(ORG, email, age);
    }

    private static String user(long org, String email, int age) {
        return "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":" + org + ",\"age\":" + age + "}";
    }

    private static String transaction(String amount) {
        return transaction(userId, amount);
    }

    private static String transaction(long user, String amount) {
        Instant at = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(2, ChronoUnit.HOURS);
        return "{\"userId\":" + user + ",\"amount\":\"" + amount + "\",\"createdAt\":\"" + at + "\"}";
    }

    private static long count(String sql) {
        return DB.jdbi().withHandle(h -> h.select(sql).mapTo(Long.class).one());
    }

    private static String key() {
        return "key-" + UUID.randomUUID();
    }

    @Test
    void aRepeatReplaysTheFirstAnswerAndWritesNothing() {
        String key = key();
        long replays = metrics().meter("dev.fortress.idempotency.replayed");

        HttpResponse<String> first = post("/users", key, user("replay@x.io", 30));
        HttpResponse<String> again = post(
                "/users",
                key,
                "{ \"age\": 30, \"orgId\": " + ORG + ", \"role\": \"member\", " + "\"email\": \"replay@x.io\" }");

        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
        assertThat(again.statusCode()).isEqualTo(201);
        assertThat(again.body()).isEqualTo(first.body());
        assertThat(again.headers().firstValue("Location"))
                .isEqualTo(first.headers().firstValue("Location"));
        assertThat(again.headers().firstValue("Location").orElseThrow())
                .endsWith("/users/" + Http.json(first).get("id"));
        assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(again.headers().firstValue("X-Consistency-Token")).isPresent();
        assertThat(count("select count(*) from users where email = 'replay@x.io'"))
                .isEqualTo(1);
        assertThat(count("select count(*) from idempotency_keys where key = '" + key + "'"))
                .isEqualTo(1);
        assertThat(metrics().meter("dev.fortress.idempotency.replayed")).isEqualTo(replays + 1);
    }

    @Test
    void aRepeatedTransactionIsStoredOnce() {
        String key = key();
        long before = count("select count(*) from transactions");

        HttpResponse<String> first = post("/transactions", key, transaction("10.25"));
        HttpResponse<String> again = post("/transactions", key, transaction("10.25"));

        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(again.statusCode()).isEqualTo(201);
        assertThat(again.body()).isEqualTo(first.body());
        assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(count("select count(*) from transactions")).isEqualTo(before + 1);
    }

    @Test
    void aKeyedAnswerIsTheBytesAnUnkeyedWriteSends() {
        // PostgreSQL rounds the instant to microseconds and stores the amount with 2 places: the answer says so.
        Instant at = Instant.now()
                .truncatedTo(ChronoUnit.HOURS)
                .minus(2, ChronoUnit.HOURS)
                .plusNanos(123_456_700);
        String body = "{\"userId\":" + userId + ",\"amount\":\"10.5\",\"createdAt\":\"" + at + "\"}";
        String key = key();

        HttpResponse<String> unkeyed = post("/transactions", null, body);
        HttpResponse<String> keyed = post("/transactions", key, body);
        HttpResponse<String> replayed = post("/transactions", key, body);

        String rounded = at.plusNanos(300).toString(); // ...00.123457Z
        assertThat(keyed.statusCode()).isEqualTo(201);
        assertThat(keyed.body())
                .isEqualTo("{\"id\":" + Http.json(keyed).get("id") + ",\"userId\":" + userId
                        + ",\"amount\":\"10.50\",\"createdAt\":\"" + rounded + "\"}");
        assertThat(unkeyed.body())
                .isEqualTo(keyed.body()
                        .replace(
                                "\"id\":" + Http.json(keyed).get("id") + ",",
                                "\"id\":" + Http.json(unkeyed).get("id") + ","));
        assertThat(replayed.body()).isEqualTo(keyed.body());
        assertThat(keyed.headers().firstValue("X-Consistency-Token")).isPresent();

        String userKey = key();
        HttpResponse<String> user = post("/users", userKey, user("o'keyed+bytes@x.io", 30));
        HttpResponse<String> userAgain = post("/users", userKey, user("o'keyed+bytes@x.io", 30));
        HttpResponse<String> unkeyedUser = post("/users", null, user("o'unkeyed+bytes@x.io", 30));
        assertThat(user.body())
                .isEqualTo("{\"id\":" + Http.json(user).get("id")
                        + ",\"email\":\"o'keyed+bytes@x.io\",\"role\":\"member\",\"orgId\":" + ORG + ",\"age\":30}");
        assertThat(userAgain.body()).isEqualTo(user.body());
        assertThat(unkeyedUser.body())
                .isEqualTo("{\"id\":" + Http.json(unkeyedUser).get("id")
                        + ",\"email\":\"o'unkeyed+bytes@x.io\",\"role\":\"member\",\"orgId\":" + ORG + ",\"age\":30}");
        assertThat(user.headers().firstValue("Location").orElseThrow())
                .endsWith("/users/" + Http.json(user).get("id"));
    }

    @Test
    void anAnswerStoredByTheFormerVersionIsReplayedAsStored() throws Exception {
        // Before one statement did it all, the answer was stored as the ObjectMapper wrote it.
        String key = key();
        Instant at = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(2, ChronoUnit.HOURS);
        NewTransaction request = new NewTransaction(userId, "7.50", at);
        byte[] fingerprint = IdempotentWrites.sha256(
                APP.getObjectMapper().writeValueAsString(request).getBytes(StandardCharsets.UTF_8));
        String stored = "{\"id\":987654,\"userId\":" + userId + ",\"amount\":\"7.50\",\"createdAt\":\"" + at + "\"}";
        DB.jdbi()
                .useHandle(h -> h.execute(
                        "insert into idempotency_keys (org_id, scope, key, fingerprint, status, body) "
                                + "values (?, 'POST /transactions', ?, ?, 201, ?)",
                        ORG,
                        key,
                        fingerprint,
                        stored));

        HttpResponse<String> replayed =
                post("/transactions", key, APP.getObjectMapper().writeValueAsString(request));

        assertThat(replayed.statusCode()).isEqualTo(201);
        assertThat(replayed.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(replayed.body()).isEqualTo(stored);
    }

    @Test
    void aKeyedWriteOfAnEmailAlreadyThereIs409AndStoresNoKey() {
        String key = key();
        assertThat(post("/users", null, user("taken@x.io", 30)).statusCode()).isEqualTo(201);

        HttpResponse<String> taken = post("/users", key, user("TAKEN@x.io", 30));

        assertThat(taken.statusCode()).isEqualTo(409);
        assertThat(Http.json(taken)).containsEntry("message", "a user with email TAKEN@x.io already exists");
        assertThat(count("select count(*) from idempotency_keys where key = '" + key + "'"))
                .isZero();
        // Nothing stored: the key may carry the corrected request.
        HttpResponse<String> corrected = post("/users", key, user("taken-not@x.io", 30));
        assertThat(corrected.statusCode()).isEqualTo(201);
        assertThat(corrected.headers().firstValue("Idempotent-Replayed")).isEmpty();
    }

    @Test
    void withoutAKeyEveryRequestWritesAsBefore() {
        long before = count("select count(*) from transactions");
        long keys = count("select count(*) from idempotency_keys");

        assertThat(post("/transactions", null, transaction("1.00")).statusCode())
                .isEqualTo(201);
        assertThat(post("/transactions", null, transaction("1.00")).statusCode())
                .isEqualTo(201);

        assertThat(count("select count(*) from transactions")).isEqualTo(before + 2);
        assertThat(count("select count(*) from idempotency_keys")).isEqualTo(keys);
    }

    @Test
    void theSameKeyWithAnotherBodyIs422AndWritesNothing() {
        String key = key();
        long mismatches = metrics().meter("dev.fortress.idempotency.mismatched");
        assertThat(post("/users", key, user("mismatch@x.io", 30)).statusCode()).isEqualTo(201);

        HttpResponse<String> other = post("/users", key, user("mismatch@x.io", 31));
        HttpResponse<String> otherRoute = post("/transactions", key, transaction("2.00"));

        assertThat(other.statusCode()).isEqualTo(422);
        assertThat(Http.json(other))
                .containsEntry("code", 422)
                .containsEntry("message", "Idempotency-Key " + key + " was already used with a different request body");
        assertThat(count("select count(*) from users where email = 'mismatch@x.io' and age = 30"))
                .isEqualTo(1);
        assertThat(count("select count(*) from users where email = 'mismatch@x.io'"))
                .isEqualTo(1);
        assertThat(metrics().meter("dev.fortress.idempotency.mismatched")).isEqualTo(mismatches + 1);
        // Keys are per route: the same key on another route is another key.
        assertThat(otherRoute.statusCode()).isEqualTo(201);
    }

    @Test
    void aRepeatWhileTheFirstStillRunsIs409AndTheFirstCompletes() throws Exception {
        String key = key();
        long inFlight = metrics().meter("dev.fortress.idempotency.in-flight");
        CompletableFuture<HttpResponse<String>> first;
        HttpResponse<String> second;
        try (Handle blocker = DB.jdbi().open()) {
            // The first request's insert waits on this uncommitted row (the same email: the unique index
            // waits for its transaction) while it holds its key. Not a lock on the table: the keyed
            // statement is the insert too, so the repeat would wait on it as well instead of answering.
            blocker.begin();
            blocker.execute(
                    "insert into users (email, role, org_id, age) values ('inflight@x.io', 'member', ?, 30)", ORG);
            first = CompletableFuture.supplyAsync(() -> post("/users", key, user("inflight@x.io", 30)));
            awaitWaitingInsert();
            second = post("/users", key, user("inflight@x.io", 30));
            blocker.rollback();
        }

        assertThat(second.statusCode()).isEqualTo(409);
        assertThat(Http.json(second).get("message").toString()).contains("still running");
        assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
        assertThat(count("select count(*) from users where email = 'inflight@x.io'"))
                .isEqualTo(1);
        assertThat(metrics().meter("dev.fortress.idempotency.in-flight")).isEqualTo(inFlight + 1);
        // Once the first has answered, the repeat replays it.
        HttpResponse<String> after = post("/users", key, user("inflight@x.io", 30));
        assertThat(after.statusCode()).isEqualTo(201);
        assertThat(after.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    }

    @Test
    void aWriteThatCommittedAfterItsClientGaveUpIsReplayedToTheRetry() throws Exception {
        String key = key();
        String body = user("unanswered@x.io", 30);
        CompletableFuture<HttpResponse<String>> abandoned;
        try (Handle blocker = DB.jdbi().open()) {
            blocker.begin();
            blocker.execute("lock table users in share mode");
            // The client stops waiting (as it would on a timeout or a dropped link) while the write waits.
            abandoned = CompletableFuture.supplyAsync(() -> api().send(HttpRequest.newBuilder(api().uri("/users"))
                    .header("Content-Type", "application/json")
                    .header("Idempotency-Key", key)
                    .timeout(java.time.Duration.ofMillis(500))
                    .POST(HttpRequest.BodyPublishers.ofString(body))));
            awaitWaitingInsert();
            assertThat(abandoned).failsWithin(java.time.Duration.ofSeconds(30));
            blocker.rollback();
        }
        // The server goes on and commits what the client never heard about.
        for (int i = 0; i < 300 && count("select count(*) from users where email = 'unanswered@x.io'") == 0; i++) {
            Thread.sleep(100);
        }
        assertThat(count("select count(*) from users where email = 'unanswered@x.io'"))
                .isEqualTo(1);

        HttpResponse<String> retry = post("/users", key, body);

        assertThat(retry.statusCode())
                .as("the retry gets the stored 201, not a 409 for its own email")
                .isEqualTo(201);
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(Http.json(retry)).containsEntry("email", "unanswered@x.io");
        assertThat(count("select count(*) from users where email = 'unanswered@x.io'"))
                .isEqualTo(1);
        // Without a key the same retry is the 409 the fault suite saw.
        assertThat(post("/users", null, body).statusCode()).isEqualTo(409);
    }

    private static void awaitWaitingInsert() throws InterruptedException {
        for (int i = 0; i < 300; i++) {
            if (DB.sessionsWaitingOnLock("%insert into users%") > 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the first request never reached its insert");
    }

    @Test
    void theSameKeyInTwoOrganisationsIsTwoKeysEachWritingItsOwnRow() {
        String key = key();
        Http other = new Http("127.0.0.1", APP.getLocalPort()).as(otherOrgsApiKey);
        long replays = metrics().meter("dev.fortress.idempotency.replayed");
        long mismatches = metrics().meter("dev.fortress.idempotency.mismatched");

        HttpResponse<String> mine = post("/users", key, user("two-orgs@x.io", 30));
        HttpResponse<String> theirs = post(other, "/users", key, user(OTHER_ORG, "two-orgs-other@x.io", 30));
        HttpResponse<String> myTransaction = post("/transactions", key, transaction("4.00"));
        HttpResponse<String> theirTransaction = post(other, "/transactions", key, transaction(otherOrgsUser, "4.00"));

        for (HttpResponse<String> first : List.of(mine, theirs, myTransaction, theirTransaction)) {
            assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
            assertThat(first.headers().firstValue("Idempotent-Replayed"))
                    .as(first.body())
                    .isEmpty();
        }
        assertThat(Http.json(mine)).containsEntry("orgId", (int) ORG);
        assertThat(Http.json(theirs))
                .containsEntry("orgId", (int) OTHER_ORG)
                .doesNotContainEntry("id", Http.json(mine).get("id"));
        assertThat(Http.json(theirTransaction)).containsEntry("userId", (int) otherOrgsUser);
        assertThat(count("select count(*) from users where email in ('two-orgs@x.io', 'two-orgs-other@x.io')"))
                .isEqualTo(2);
        assertThat(count("select count(*) from transactions where user_id = " + userId + " and amount = 4.00"))
                .isEqualTo(1);
        assertThat(count("select count(*) from transactions where user_id = " + otherOrgsUser + " and amount = 4.00"))
                .isEqualTo(1);
        assertThat(count("select count(*) from idempotency_keys where key = '" + key + "' and org_id = " + ORG))
                .as("POST /users and POST /transactions")
                .isEqualTo(2);
        assertThat(count("select count(*) from idempotency_keys where key = '" + key + "' and org_id = " + OTHER_ORG))
                .isEqualTo(2);
        assertThat(metrics().meter("dev.fortress.idempotency.replayed")).isEqualTo(replays);
        assertThat(metrics().meter("dev.fortress.idempotency.mismatched")).isEqualTo(mismatches);

        // Within each organisation the key still replays that organisation's own answer.
        HttpResponse<String> myRepeat = post("/users", key, user("two-orgs@x.io", 30));
        HttpResponse<String> theirRepeat = post(other, "/users", key, user(OTHER_ORG, "two-orgs-other@x.io", 30));
        assertThat(myRepeat.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(myRepeat.body()).isEqualTo(mine.body());
        assertThat(theirRepeat.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(theirRepeat.body()).isEqualTo(theirs.body());
        assertThat(count("select count(*) from users where email in ('two-orgs@x.io', 'two-orgs-other@x.io')"))
                .isEqualTo(2);
    }

    @Test
    void aMalformedKeyIs400AndWritesNothing() {
        long before = count("select count(*) from users");
        HostileHttp raw = new HostileHttp("127.0.0.1", APP.getLocalPort());
        String body = user("malformed@x.io", 30);
        for (String key : List.of("", "k".repeat(256), "caf\u00e9", "tab\there", "\u0001")) {
            byte[] request = ("POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Authorization: Bearer " + apiKey + "\r\n"
                            + "Idempotency-Key: " + key + "\r\nContent-Length: " + body.length()
                            + "\r\nConnection: close\r\n\r\n"
                            + body)
                    .getBytes(StandardCharsets.ISO_8859_1);
            HostileHttp.Answer answer = raw.exchange(request);
            assertThat(answer.status()).as("key %s", key).isEqualTo(400);
            if (!key.equals("\u0001")) { // a control character Jetty refuses itself, as a bare 400
                assertThat(answer.bodyText())
                        .as("key %s", key)
                        .contains("Idempotency-Key must be 1 to 255 printable ASCII characters");
            }
        }
        assertThat(post("/users", "k".repeat(255), body).statusCode())
                .as("255 characters is a key")
                .isEqualTo(201);
        assertThat(count("select count(*) from users")).isEqualTo(before + 1);
    }

    @Test
    void aFailedWriteStoresNoKeyAndItsRepeatIsTriedAfresh() {
        String key = key();
        HttpResponse<String> refused = post(
                "/transactions",
                key,
                "{\"userId\":999999999,\"amount\":\"1.00\",\"createdAt\":\"" + Instant.now() + "\"}");
        assertThat(refused.statusCode()).isEqualTo(422);
        assertThat(count("select count(*) from idempotency_keys where key = '" + key + "'"))
                .isZero();
        // The same key may then carry the corrected request.
        assertThat(post("/transactions", key, transaction("3.00")).statusCode()).isEqualTo(201);
    }

    @Test
    void anExpiredKeyIsForgottenAndThePurgeDeletesIt() {
        String key = key();
        assertThat(post("/users", key, user("expired@x.io", 30)).statusCode()).isEqualTo(201);
        String stale = key();
        assertThat(post("/users", stale, user("stale@x.io", 30)).statusCode()).isEqualTo(201);
        DB.jdbi()
                .useHandle(h -> h.execute(
                        "update idempotency_keys set created_at = now() - interval '25 hours' " + "where key in (?, ?)",
                        key,
                        stale));

        // Past the retention the key is new again: another body is a new write, not a 422.
        HttpResponse<String> reused = post("/users", key, user("expired-again@x.io", 30));
        assertThat(reused.statusCode()).isEqualTo(201);
        assertThat(reused.headers().firstValue("Idempotent-Replayed")).isEmpty();

        long purged = metrics().meter("dev.fortress.idempotency.purged");
        HttpResponse<String> task = new Http("127.0.0.1", APP.getAdminPort())
                .send(HttpRequest.newBuilder(new Http("127.0.0.1", APP.getAdminPort()).uri("/tasks/idempotency-purge"))
                        .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(task.statusCode()).isEqualTo(200);
        assertThat(count("select count(*) from idempotency_keys where key = '" + stale + "'"))
                .isZero();
        assertThat(count("select count(*) from idempotency_keys where key = '" + key + "'"))
                .as("the reused key, stored afresh, is kept")
                .isEqualTo(1);
        assertThat(metrics().meter("dev.fortress.idempotency.purged")).isGreaterThanOrEqualTo(purged + 1);
    }
}
