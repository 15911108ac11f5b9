package dev.fortress.users;

import com.codahale.metrics.annotation.ResponseMetered;
import com.codahale.metrics.annotation.Timed;
import dev.fortress.db.ConsistencyTokenFeature;
import dev.fortress.db.IssuesConsistencyToken;
import dev.fortress.db.Reads;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.http.ApiErrors;
import dev.fortress.http.BodySizeLimit;
import dev.fortress.http.PathIds;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.LongConsumer;

@Path("/users")
@Produces(MediaType.APPLICATION_JSON)
public class UsersResource {

    /** A user is ~100 bytes of JSON; anything near this limit is not a user. */
    static final long MAX_BODY_BYTES = 16 * 1024;

    /** The scope of this route's Idempotency-Keys. */
    static final String SCOPE = "POST /users";

    private final Reads<UserReadDao> reader;
    private final IdempotentWrites writes;
    private final LongConsumer orgChanged;

    public UsersResource(Reads<UserReadDao> reader, IdempotentWrites writes, LongConsumer orgChanged) {
        this.reader = reader;
        this.writes = writes;
        this.orgChanged = orgChanged;
    }

    /**
     * Served by the replica unless it lags, or has not replayed the write a consistency token
     * names. A missing user, and an id that is not a non-negative long (which no user has), answer
     * 404 without an exception: a scan of random ids costs what hits do. Served through Jersey
     * only for what {@link dev.fortress.http.DirectGetFilter} passes on (see {@link Users#register}).
     */
    @GET
    @Path("/{id}")
    @Timed(name = "get")
    @ResponseMetered(name = "get")
    public Response get(@PathParam("id") String id, @HeaderParam(ConsistencyTokenFeature.HEADER) String token) {
        OptionalLong userId = PathIds.parse(id);
        if (userId.isEmpty()) {
            return ApiErrors.notFound();
        }
        long key = userId.getAsLong();
        Optional<User> user = reader.read(token, users -> users.findById(key));
        return user.isPresent() ? Response.ok(user.get()).build() : ApiErrors.notFound("user " + key + " not found");
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @BodySizeLimit(MAX_BODY_BYTES)
    @IssuesConsistencyToken
    @Timed(name = "create")
    @ResponseMetered(name = "create")
    public Response create(@NotNull @Valid NewUser user,
                           @HeaderParam(IdempotentWrites.KEY_HEADER) String idempotencyKey) {
        String key = IdempotentWrites.key(idempotencyKey);
        try {
            Response response = writes.write(SCOPE, key, user, h -> {
                User created = h.attach(UserWriteDao.class).create(user);
                return new IdempotentWrites.Answer(201, created,
                        UriBuilder.fromResource(UsersResource.class).path("{id}").build(created.id()));
            });
            orgChanged.accept(user.orgId()); // after the commit, so no reader can cache the old count
            return response;
        } catch (DuplicateEmailException e) {
            throw ApiErrors.error(Response.Status.CONFLICT, e.getMessage());
        }
    }
}
