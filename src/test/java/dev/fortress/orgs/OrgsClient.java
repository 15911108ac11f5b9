package dev.fortress.orgs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What the org stats tests do over HTTP, each call as the organisation it is about: with a key of
 * that organisation (made on first use, then reused), since another organisation's stats are a 404.
 */
final class OrgsClient {

    private final TestDatabase db;
    private final Http api;
    private final Map<Long, Http> asOrg = new ConcurrentHashMap<>();

    OrgsClient(TestDatabase db, int port) {
        this.db = db;
        this.api = new Http("127.0.0.1", port);
    }

    /** A client that sends no key (for /health-check). */
    Http api() {
        return api;
    }

    /** A client calling with a key of {@code orgId} (scopes read and write). */
    Http as(long orgId) {
        return asOrg.computeIfAbsent(orgId, org -> api.as(TestKeys.of(db, org, "read", "write")));
    }

    HttpResponse<String> stats(long orgId) {
        return as(orgId).get("/orgs/" + orgId + "/stats");
    }

    /** Adds a user with a fresh email to the org through POST /users. */
    void addUser(long orgId, int age) {
        addUserAnswer(orgId, age);
    }

    /** As {@link #addUser}; the 201 answer (its {@code X-Consistency-Token}, say). */
    HttpResponse<String> addUserAnswer(long orgId, int age) {
        String email = "u" + ThreadLocalRandom.current().nextLong(Long.MAX_VALUE) + "@x.io";
        HttpResponse<String> answer = as(orgId)
                .postJson(
                        "/users",
                        "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":" + orgId + ",\"age\":" + age
                                + "}");
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(201);
        return answer;
    }
}
