package dev.fortress.orgs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Http;
import java.net.http.HttpResponse;
import java.util.concurrent.ThreadLocalRandom;

/** What the org stats tests do over HTTP. */
final class OrgsClient {

    private final Http api;

    OrgsClient(int port) {
        this.api = new Http("127.0.0.1", port);
    }

    Http api() {
        return api;
    }

    HttpResponse<String> stats(long orgId) {
        return api.get("/orgs/" + orgId + "/stats");
    }

    /** Adds a user with a fresh email to the org through POST /users. */
    void addUser(long orgId, int age) {
        String email = "u" + ThreadLocalRandom.current().nextLong(Long.MAX_VALUE) + "@x.io";
        assertThat(api.postJson("/users", "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":" + orgId
                + ",\"age\":" + age + "}").statusCode()).isEqualTo(201);
    }
}
