package dev.fortress.users;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.auth.Access;
import dev.fortress.auth.ApiKeyFormat;
import dev.fortress.auth.ApiKeyStore;
import dev.fortress.auth.Scopes;
import dev.fortress.cache.Redis;
import dev.fortress.db.Databases;
import dev.fortress.db.LogLimiter;
import dev.fortress.db.Reads;
import dev.fortress.db.ReplicaMonitor;
import dev.fortress.db.ReplicaSet;
import dev.fortress.db.StatementMetrics;
import dev.fortress.http.BodySizeLimitFeature;
import dev.fortress.http.DatabaseExceptionMapper;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.testing.Configs;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.dropwizard.testing.junit5.ResourceExtension;
import jakarta.ws.rs.client.Entity;
import jakarta.ws.rs.client.Invocation;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import org.glassfish.jersey.server.ResourceConfig;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The HTTP contract of /users, in memory, over the real DAOs on a test database, behind the
 * application's own access set-up: {@link Access#build} registers dropwizard-auth's bearer filter,
 * the scope rule ({@code @RolesAllowed}), {@code @Auth Caller} injection and the refusal counts, and
 * its authenticator looks the test's keys up in the test database, as the service does. Every call
 * presents a key of organisation {@link #ORG} with every scope unless it says otherwise.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class UsersResourceTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final Jdbi JDBI = Databases.configure(
            DB.jdbi(), new StatementMetrics(new MetricRegistry(), "test", java.time.Duration.ofSeconds(1)));
    private static final long ORG = 1;

    private static final List<Long> CHANGED_ORGS = new CopyOnWriteArrayList<>();
    /** Where Access registers what it registers, and counts refusals. */
    private static final Environment ENVIRONMENT = new Environment("users-resource-test");

    private static final ResourceExtension RESOURCES = resources();
    private static final String KEY = TestKeys.of(DB, ORG);

    /**
     * The resource as Users.build makes it, and what {@link Access#build} registers with Jersey
     * (taken from the environment it registered on, so the test runs exactly that set-up).
     */
    private static ResourceExtension resources() {
        ReplicaMonitor monitor = new ReplicaMonitor(
                JDBI,
                JDBI,
                Configs.load().getReplica(),
                new MetricRegistry(),
                "test",
                Executors.newSingleThreadScheduledExecutor());
        Databases databases = new Databases(
                JDBI, DB.dataSource(), ReplicaSet.of("test", JDBI, DB.dataSource(), monitor), new Meter());
        ResourceConfig jersey = ENVIRONMENT.jersey().getResourceConfig();
        Set<Object> instances = new HashSet<>(jersey.getInstances());
        Set<Class<?>> classes = new HashSet<>(jersey.getClasses());
        Access access = Access.build(
                Configs.load().getAuth(),
                Configs.load().getRateLimits().withNamespace("test-" + DB.name()),
                ENVIRONMENT,
                databases,
                new Redis(Configs.load().getRedis(), new MetricRegistry()));

        ResourceExtension.Builder builder = ResourceExtension.builder()
                .addResource(new UsersResource(
                        new Reads<>(
                                JDBI.onDemand(UserReadDao.class),
                                JDBI.onDemand(UserReadDao.class),
                                monitor,
                                new Meter()),
                        new IdempotentWrites(JDBI, Jackson.newObjectMapper(), 86_400, new MetricRegistry()),
                        CHANGED_ORGS::add,
                        access.refusals("users")))
                .addProvider(new BodySizeLimitFeature())
                .addProvider(new DatabaseExceptionMapper(LogLimiter.withoutSummaries()));
        jersey.getInstances().stream().filter(p -> !instances.contains(p)).forEach(builder::addProvider);
        jersey.getClasses().stream().filter(p -> !classes.contains(p)).forEach(builder::addProvider);
        return builder.build();
    }

    private static Invocation.Builder request(String path, String key) {
        Invocation.Builder request = RESOURCES.target(path).request();
        return key == null ? request : request.header("Authorization", "Bearer " + key);
    }

    private static Response post(String json) {
        return post(KEY, json);
    }

    private static Response post(String key, String json) {
        return request("/users", key).post(Entity.entity(json, MediaType.APPLICATION_JSON));
    }

    private static Response get(String path) {
        return get(KEY, path);
    }

    private static Response get(String key, String path) {
        return request(path, key).get();
    }

    private static long userCount() {
        return JDBI.withHandle(
                h -> h.select("select count(*) from users").mapTo(Long.class).one());
    }

    private static long usersWithEmail(String email) {
        return JDBI.withHandle(h -> h.select("select count(*) from users where lower(email) = lower(?)", email)
                .mapTo(Long.class)
                .one());
    }

    private static long refused(String reason) {
        return ENVIRONMENT
                .metrics()
                .meter("dev.fortress.auth.refused.users." + reason)
                .getCount();
    }

    @Test
    void createsUserWith201LocationAndBody() {
        String key = TestKeys.of(DB, 7);

        Response response = post(key, "{\"email\":\"a@x.io\",\"role\":\"member\",\"orgId\":7,\"age\":31}");

        assertThat(response.getStatus()).isEqualTo(201);
        User user = response.readEntity(User.class);
        assertThat(user).isEqualTo(new User(user.id(), "a@x.io", "member", 7, 31));
        assertThat(response.getLocation().getPath()).isEqualTo("/users/" + user.id());
        assertThat(get(key, "/users/" + user.id()).readEntity(User.class)).isEqualTo(user);
        assertThat(CHANGED_ORGS).contains(7L);
    }

    @Test
    void returns409ForDuplicateEmailInAnyCase() {
        assertThat(post("{\"email\":\"Twice@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":30}")
                        .getStatus())
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
    void anEmailIsUniqueInItsOrganisationOnlySoA409SaysNothingOfAnother() {
        String email = "shared-" + System.nanoTime() + "@x.io";
        String seven = TestKeys.of(DB, 7);
        String eight = TestKeys.of(DB, 8);

        Response first = post(seven, "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":7,\"age\":30}");
        Response elsewhere =
                post(eight, "{\"email\":\"" + email.toUpperCase() + "\",\"role\":\"member\",\"orgId\":8,\"age\":30}");
        Response again = post(eight, "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":8,\"age\":30}");

        assertThat(first.getStatus()).isEqualTo(201);
        assertThat(elsewhere.getStatus())
                .as("the same email in another organisation")
                .isEqualTo(201);
        assertThat(again.getStatus()).as("twice in one organisation").isEqualTo(409);
        assertThat(usersWithEmail(email)).isEqualTo(2);
    }

    @Test
    void returns422ListingEveryInvalidField() {
        long before = userCount();

        Response response = post("{\"email\":\"not-an-email\",\"role\":\"root\",\"orgId\":0,\"age\":151}");

        assertThat(response.getStatus()).isEqualTo(422);
        @SuppressWarnings("unchecked")
        List<String> errors = (List<String>) response.readEntity(Map.class).get("errors");
        assertThat(errors)
                .containsExactlyInAnyOrder(
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
        assertThat(errors)
                .contains(
                        "email must not be blank",
                        "role must not be null",
                        "orgId must not be null",
                        "age must not be null");

        assertThat(post("").getStatus()).isEqualTo(422);
    }

    @Test
    void returns400ForMalformedJsonOrWrongTypes() {
        assertThat(post("{\"email\":").getStatus()).isEqualTo(400);
        assertThat(post("{\"email\":\"t@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":\"old\"}")
                        .getStatus())
                .isEqualTo(400);
        assertThat(post("[1,2,3]").getStatus()).isEqualTo(400);
    }

    @Test
    void returns413ForOversizedBodyWithoutWritingAnything() {
        long before = userCount();
        String padding = "x".repeat((int) UsersResource.MAX_BODY_BYTES);

        Response response =
                post("{\"email\":\"big@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":30,\"pad\":\"" + padding + "\"}");

        assertThat(response.getStatus()).isEqualTo(413);
        assertThat(response.readEntity(Map.class)).containsEntry("code", 413);
        assertThat(userCount()).isEqualTo(before);
    }

    @Test
    void returns404ForMissingUserWithApiErrorShape() {
        Response response = get("/users/987654321");

        assertThat(response.getStatus()).isEqualTo(404);
        assertThat(response.readEntity(Map.class))
                .isEqualTo(Map.of("code", 404, "message", "user 987654321 not found"));
    }

    @Test
    void returns404ForNonNumericOrOutOfRangeId() {
        for (String id : List.of("abc", "1.5", "99999999999999999999", "%27%3B--")) {
            assertThat(get("/users/" + id).getStatus()).as(id).isEqualTo(404);
        }
    }

    // ---------------------------------------------------------------- keys and organisations

    @Test
    void returns401WithoutAKeyOrWithAnUnknownRevokedOrExpiredOneAndWritesNothing() {
        long before = userCount();
        long unauthenticated = refused("unauthenticated");
        String unknown = ApiKeyFormat.generate(new SecureRandom()); // well formed, never stored
        String revoked = TestKeys.of(DB, ORG);
        new ApiKeyStore(JDBI).revoke(revoked);
        String expired =
                TestKeys.create(DB, ORG, Set.copyOf(Scopes.ALL), Instant.now().minusSeconds(60));
        String user = "{\"email\":\"nokey@x.io\",\"role\":\"member\",\"orgId\":1,\"age\":30}";

        List<Response> refusals = List.of(
                post(null, user),
                post(unknown, user),
                post(revoked, user),
                post(expired, user),
                post("not-a-key", user),
                get(null, "/users/1"),
                get(unknown, "/users/1"),
                get(revoked, "/users/1"),
                get(expired, "/users/1"));

        for (Response response : refusals) {
            assertThat(response.getStatus()).isEqualTo(401);
            assertThat(response.getHeaderString("WWW-Authenticate")).isEqualTo("Bearer realm=\"fortress\"");
            assertThat(response.readEntity(Map.class))
                    .isEqualTo(Map.of("code", 401, "message", "Credentials are required to access this resource."));
        }
        assertThat(usersWithEmail("nokey@x.io")).isZero();
        assertThat(userCount()).isEqualTo(before);
        assertThat(refused("unauthenticated")).isEqualTo(unauthenticated + refusals.size());
    }

    @Test
    void returns403ForAKeyWithoutTheRoutesScopeAndWritesNothing() {
        long before = userCount();
        long forbidden = refused("forbidden");
        User existing = post("{\"email\":\"scoped@x.io\",\"role\":\"member\",\"orgId\":1,\"age\":30}")
                .readEntity(User.class);

        Response readOnly = post(
                TestKeys.of(DB, ORG, "read", "import", "admin"),
                "{\"email\":\"read-only@x.io\",\"role\":\"member\",\"orgId\":1,\"age\":30}");
        Response writeOnly = get(TestKeys.of(DB, ORG, "write"), "/users/" + existing.id());

        for (Response response : List.of(readOnly, writeOnly)) {
            assertThat(response.getStatus()).isEqualTo(403);
            assertThat(response.readEntity(Map.class))
                    .isEqualTo(Map.of("code", 403, "message", "User not authorized."));
        }
        assertThat(usersWithEmail("read-only@x.io")).isZero();
        assertThat(userCount()).isEqualTo(before + 1);
        assertThat(refused("forbidden")).isEqualTo(forbidden + 2);
    }

    @Test
    void returns403ForAnotherOrganisationsOrgIdAndWritesNothing() {
        long before = userCount();
        long forbidden = refused("forbidden");
        CHANGED_ORGS.clear();

        Response response =
                post(TestKeys.of(DB, 7), "{\"email\":\"elsewhere@x.io\",\"role\":\"member\",\"orgId\":8,\"age\":30}");

        assertThat(response.getStatus()).isEqualTo(403);
        assertThat(response.readEntity(Map.class))
                .isEqualTo(Map.of("code", 403, "message", "orgId 8 is not the organisation of this key"));
        assertThat(usersWithEmail("elsewhere@x.io")).isZero();
        assertThat(userCount()).isEqualTo(before);
        assertThat(CHANGED_ORGS).doesNotContain(7L, 8L);
        assertThat(refused("forbidden")).isEqualTo(forbidden + 1);
    }

    @Test
    void returns403ForAnAdminFromAKeyWithoutTheAdminScopeAndWritesNothing() {
        long before = userCount();
        String admin = "{\"email\":\"new-admin@x.io\",\"role\":\"admin\",\"orgId\":1,\"age\":30}";

        Response refused = post(TestKeys.of(DB, ORG, "read", "write", "import"), admin);

        assertThat(refused.getStatus()).isEqualTo(403);
        assertThat(refused.readEntity(Map.class))
                .isEqualTo(Map.of("code", 403, "message", "a user with role admin needs a key with the admin scope"));
        assertThat(usersWithEmail("new-admin@x.io")).isZero();
        assertThat(userCount()).isEqualTo(before);

        Response created = post(TestKeys.of(DB, ORG, "write", "admin"), admin);

        assertThat(created.getStatus()).isEqualTo(201);
        assertThat(created.readEntity(User.class).role()).isEqualTo("admin");
        assertThat(usersWithEmail("new-admin@x.io")).isEqualTo(1);
        assertThat(userCount()).isEqualTo(before + 1);
    }

    @Test
    void returns404ForAnotherOrganisationsUserAsForAMissingOne() {
        long crossTenant = refused("cross-tenant");
        User theirs = post(TestKeys.of(DB, 9), "{\"email\":\"theirs@x.io\",\"role\":\"member\",\"orgId\":9,\"age\":30}")
                .readEntity(User.class);

        Response response = get("/users/" + theirs.id());

        assertThat(response.getStatus()).isEqualTo(404);
        assertThat(response.readEntity(Map.class))
                .isEqualTo(Map.of("code", 404, "message", "user " + theirs.id() + " not found"));
        assertThat(refused("cross-tenant")).isEqualTo(crossTenant + 1);
    }
}
