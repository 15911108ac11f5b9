package dev.fortress.users;

import dev.fortress.db.ConsistencyTokenFeature;
import dev.fortress.db.Databases;
import dev.fortress.db.Reads;
import dev.fortress.http.DirectGetFilter;
import dev.fortress.http.Routes;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.ops.WarmupRequest;
import io.dropwizard.core.setup.Environment;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongConsumer;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/** The users feature: reads on the replica (lag-aware), writes on the writer. */
public final class Users {

    private final Databases databases;

    private Users(Databases databases) {
        this.databases = databases;
    }

    /**
     * Builds the feature and registers its routes (its resource with Jersey, and a
     * {@link DirectGetFilter} in front of it that serves GET /users/{id} with the same method).
     *
     * @param idempotent the writes POST /users makes, with or without an Idempotency-Key
     * @param orgChanged told, after a user is committed, which org gained it (the stats cache invalidates it)
     */
    public static Users build(
            Environment environment,
            Routes routes,
            Databases databases,
            IdempotentWrites idempotent,
            LongConsumer orgChanged) {
        UsersResource resource = new UsersResource(
                databases.reads(JdbcUserReadDao::new),
                idempotent,
                orgChanged,
                routes.access().refusals("users"));
        routes.resource(resource);
        routes.directGet(
                "/users/",
                "",
                UsersResource.class,
                "get",
                (caller, segment, request) ->
                        resource.get(caller, segment, request.getHeader(ConsistencyTokenFeature.HEADER)));
        return new Users(databases);
    }

    /** The organisation the warm-up calls as: one that has users (1 when there are none). */
    public LongSupplier warmupOrg() {
        Reads<UserReadDao> reads = databases.reads(UserReadDao.class);
        return () -> reads.read(null, UserReadDao::anyOrg).orElse(1L);
    }

    /**
     * What a client of {@code orgId} sends this feature, for the warm-up: reads of its users
     * (sampled from the reader), of another organisation's user, of ids that do not exist and of
     * ids that are not numbers, and creations refused by validation or as malformed JSON (nothing
     * is written).
     */
    public LongFunction<List<WarmupRequest>> warmup() {
        Reads<UserReadDao> reads = databases.reads(UserReadDao.class);
        return orgId -> {
            List<Long> ids = reads.read(null, users -> users.sampleIds(orgId, 1_000));
            long other = reads.read(null, users -> users.otherOrgsUser(orgId)).orElse(0L);
            Supplier<String> existing = ids.isEmpty()
                    ? () -> "/users/1"
                    : () -> "/users/" + ids.get(ThreadLocalRandom.current().nextInt(ids.size()));
            WarmupRequest found = WarmupRequest.get("/users/{id}", existing, ids.isEmpty() ? 404 : 200);
            return List.of(
                    found,
                    found,
                    found,
                    found,
                    WarmupRequest.get("/users/{id}", () -> "/users/" + other, 404),
                    WarmupRequest.get("/users/{id}", () -> "/users/0", 404),
                    WarmupRequest.get("/users/{id}", () -> "/users/not-a-number", 404),
                    WarmupRequest.unauthenticated("/users/{id}", existing),
                    WarmupRequest.post(
                            "/users",
                            "/users",
                            "{\"email\":\"warm-up\",\"role\":\"nobody\",\"orgId\":" + orgId + ",\"age\":-1}",
                            422),
                    WarmupRequest.post("/users", "/users", "{\"email\":", 400));
        };
    }
}
