package dev.fortress.users;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.http.DatabaseExceptionMapper;
import dev.fortress.auth.Refusals;
import dev.fortress.db.Reads;
import dev.fortress.db.ReplicaMonitor;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.http.BodySizeLimitFeature;
import io.dropwizard.jackson.Jackson;
import dev.fortress.testing.Configs;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.dropwizard.testing.junit5.ResourceExtension;
import jakarta.ws.rs.client.Entity;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The HTTP contract of /users, in memory, over the real DAOs on a test database. */
@ExtendWith(DropwizardExtensionsSupport.class)
class UsersResourceTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final Jdbi JDBI = DB.jdbi().installPlugin(new SqlObjectPlugin());

    private static final java.util.List<Long> CHANGED_ORGS = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static final ResourceExtension RESOURCES = ResourceExtension.builder()
            .addResource(new UsersResource(new Reads<>(JDBI.onDemand(UserReadDao.class),
                    JDBI.onDemand(UserReadDao.class), new ReplicaMonitor(JDBI, JDBI, Configs.load().getReplica(),
                    new MetricRegistry(), "test", java.util.concurrent.Executors.newSingleThreadScheduledExecutor()),
                    new Meter()), new IdempotentWrites(JDBI, Jackson.newObjectMapper(), 86_400, new MetricRegistry()),
                    CHANGED_ORGS::add, new Refusals(new MetricRegistry()).family("users")))
            .addProvider(new BodySizeLimitFeature())
            .addProvider(new DatabaseExceptionMapper())
            .build();

    private static Response post(String json) {
        return RESOURCES.target("/users").request().post(Entity.entity(json, MediaType.APPLICATION_JSON));
    }

    private static long userCount() {
        return JDBI.withHandle(h -> h.select("select count(*) from users").mapTo(Long.class).one());
    }

    @Test
    void createsUserWith201LocationAndBody() {
        Response response = post("{\"email\":\"a@x.io\",\"role\":\"member\",\"orgId\":7,\"age\":31}");

        assertThat(response.getStatus()).isEqualTo(201);
        User user = response.readEntity(User.class);
        assertThat(user).isEqualTo(new User(user.id(), "a@x.io", "member", 7, 31));
        assertThat(response.getLocation().getPath()).isEqualTo("/users/" + user.id());
        assertThat(RESOURCES.target("/users/" + user.id()).request().get(User.class)).isEqualTo(user);
        assertThat(CHANGED_ORGS).contains(7L);
    }

    @Test
    void returns409ForDuplicateEmailInAnyCase() {
        assertThat(post("{\"email\":\"Twice@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":30}").getStatus())
                .isEqualTo(201);
        long before = userCount();

        Response response = post("{\"email\":\"twice@X.IO\",\"role\":\"admin\",\"orgId\":1,\"age\":30}");

        assertThat(response.getStatus()).isEqualTo(409);
        assertThat(response.readEntity(Map.class))
                .containsEntry("code", 409)
                .containsEntry("message", "a user with email twice@X.IO already exists");
        assertThat(userCount()).isEqualTo(before);
    }

    @Test
    void returns422ListingEveryInvalidField() {
        long before = userCount();

        Response response = post("{\"email\":\"not-an-email\",\"role\":\"root\",\"orgId\":0,\"age\":151}");

        assertThat(response.getStatus()).isEqualTo(422);
        @SuppressWarnings("unchecked")
        List<String> errors = (List<String>) response.readEntity(Map.class).get("errors");
        assertThat(errors).containsExactlyInAnyOrder(
                "email must be a well-formed email address",
                "role must be one of admin, member, viewer",
                "orgId must be greater than 0",
                "age must be between 0 and 150");
        assertThat(userCount()).isEqualTo(before);
    }

    @Test
    void returns422ForMissingFieldsAndEmptyBody() {
        Response missing = post("{}");
        assertThat(missing.getStatus()).isEqualTo(422);
        @SuppressWarnings("unchecked")
        List<String> errors = (List<String>) missing.readEntity(Map.class).get("errors");
        assertThat(errors).contains("email must not be blank", "role must not be null",
                "orgId must not be null", "age must not be null");

        assertThat(post("").getStatus()).isEqualTo(422);
    }

    @Test
    void returns400ForMalformedJsonOrWrongTypes() {
        assertThat(post("{\"email\":").getStatus()).isEqualTo(400);
        assertThat(post("{\"email\":\"t@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":\"old\"}").getStatus())
                .isEqualTo(400);
        assertThat(post("[1,2,3]").getStatus()).isEqualTo(400);
    }

    @Test
    void returns413ForOversizedBodyWithoutWritingAnything() {
        long before = userCount();
        String padding = "x".repeat((int) UsersResource.MAX_BODY_BYTES);

        Response response = post("{\"email\":\"big@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":30,\"pad\":\""
                + padding + "\"}");

        assertThat(response.getStatus()).isEqualTo(413);
        assertThat(response.readEntity(Map.class)).containsEntry("code", 413);
        assertThat(userCount()).isEqualTo(before);
    }

    @Test
    void returns404ForMissingUserWithApiErrorShape() {
        Response response = RESOURCES.target("/users/987654321").request().get();

        assertThat(response.getStatus()).isEqualTo(404);
        assertThat(response.readEntity(Map.class))
                .isEqualTo(Map.of("code", 404, "message", "user 987654321 not found"));
    }

    @Test
    void returns404ForNonNumericOrOutOfRangeId() {
        for (String id : List.of("abc", "1.5", "99999999999999999999", "%27%3B--")) {
            assertThat(RESOURCES.target("/users/" + id).request().get().getStatus()).as(id).isEqualTo(404);
        }
    }
}
