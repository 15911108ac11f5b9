package dev.fortress.users;

import com.codahale.metrics.annotation.ResponseMetered;
import com.codahale.metrics.annotation.Timed;
import dev.fortress.auth.Caller;
import dev.fortress.auth.Refusals;
import dev.fortress.auth.Scopes;
import dev.fortress.db.ConsistencyTokenFeature;
import dev.fortress.db.IssuesConsistencyToken;
import dev.fortress.db.Reads;
import dev.fortress.http.ApiErrors;
import dev.fortress.http.BodySizeLimit;
import dev.fortress.http.PathIds;
import dev.fortress.idempotency.IdempotentWrites;
import io.dropwizard.auth.Auth;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.annotation.security.RolesAllowed;
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
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

@Path("/users")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "users", description = "The users of the caller's organisation.")
public class UsersResource {

    /** A user is ~100 bytes of JSON; anything near this limit is not a user. */
    static final long MAX_BODY_BYTES = 16 * 1024;

    /** The scope of this route's Idempotency-Keys. */
    static final String SCOPE = "POST /users";

    /** A user's Location without its id. */
    private static final String LOCATION_PREFIX =
            UriBuilder.fromResource(UsersResource.class).build() + "/";

    private final Reads<UserReadDao> reader;
    private final IdempotentWrites writes;
    private final IdempotentWrites.KeyedInsert<User> insertWithKey;
    private final LongConsumer orgChanged;
    private final Refusals.Family refusals;

    public UsersResource(
            Reads<UserReadDao> reader, IdempotentWrites writes, LongConsumer orgChanged, Refusals.Family refusals) {
        this.reader = reader;
        this.writes = writes;
        this.insertWithKey = UserWriteDao.insertWithKey(writes);
        this.orgChanged = orgChanged;
        this.refusals = refusals;
    }

    /**
     * Served by the replica unless it lags, or has not replayed the write a consistency token
     * names. A missing user, another organisation's user, and an id that is not a non-negative long
     * (which no user has) answer 404 without an exception: a scan of random ids costs what hits do,
     * and tells nothing of other organisations. Served through Jersey only for what
     * {@link dev.fortress.http.DirectGetFilter} passes on (see {@link Users#build}).
     */
    @GET
    @Path("/{id}")
    @RolesAllowed(Scopes.READ)
    @Timed(name = "get")
    @ResponseMetered(name = "get")
    @Operation(
            operationId = "getUser",
            summary = "A user of the caller's organisation",
            responses = {
                @ApiResponse(
                        responseCode = "200",
                        description = "The user.",
                        content = @Content(schema = @Schema(implementation = User.class))),
                @ApiResponse(responseCode = "400", description = "An X-Consistency-Token ahead of the writer."),
                @ApiResponse(responseCode = "404", description = "No such user, or another organisation's.")
            })
    public Response get(
            @Parameter(hidden = true) @Auth Caller caller,
            @Parameter(
                            description = "The user's id; one that is not a number is a 404.",
                            schema = @Schema(type = "integer", format = "int64"))
                    @PathParam("id")
                    String id,
            @HeaderParam(ConsistencyTokenFeature.HEADER) String token) {
        OptionalLong userId = PathIds.parse(id);
        if (userId.isEmpty()) {
            return ApiErrors.notFound();
        }
        long key = userId.getAsLong();
        Optional<User> user = reader.read(token, users -> users.findById(key));
        if (user.isPresent() && user.get().orgId() == caller.orgId()) {
            return Response.ok(user.get()).build();
        }
        if (user.isPresent()) {
            refusals.crossTenant();
        }
        return ApiErrors.notFound("user " + key + " not found");
    }

    /**
     * Creates a user in the caller's organisation: a body naming another one is a 403, and so is a
     * user with role {@code admin} from a key without the {@code admin} scope; nothing is written.
     */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @BodySizeLimit(MAX_BODY_BYTES)
    @IssuesConsistencyToken
    @RolesAllowed(Scopes.WRITE)
    @Timed(name = "create")
    @ResponseMetered(name = "create")
    @Operation(
            operationId = "createUser",
            summary = "Creates a user in the caller's organisation",
            responses = {
                @ApiResponse(
                        responseCode = "201",
                        description = "The user, created.",
                        headers =
                                @Header(
                                        name = "Location",
                                        description = "/users/{id} of the new user.",
                                        schema = @Schema(type = "string")),
                        content = @Content(schema = @Schema(implementation = User.class))),
                @ApiResponse(responseCode = "400", description = "Malformed JSON, or a malformed Idempotency-Key."),
                @ApiResponse(
                        responseCode = "403",
                        description = "The key lacks the scope (write, and admin for an admin), "
                                + "or the body names another organisation; nothing is written."),
                @ApiResponse(
                        responseCode = "409",
                        description = "The email is already in the organisation (in any case), "
                                + "or a request with the same Idempotency-Key is still running."),
                @ApiResponse(responseCode = "413", description = "A body over 16 KiB."),
                @ApiResponse(responseCode = "415", description = "A body that is not JSON."),
                @ApiResponse(
                        responseCode = "422",
                        description = "Every invalid field; or the Idempotency-Key was used with another body.",
                        content = @Content(schema = @Schema(ref = "Unprocessable")))
            })
    public Response create(
            @Parameter(hidden = true) @Auth Caller caller,
            @NotNull @Valid NewUser user,
            @HeaderParam(IdempotentWrites.KEY_HEADER) String idempotencyKey) {
        String key = IdempotentWrites.key(idempotencyKey);
        if (user.orgId() != caller.orgId()) {
            throw ApiErrors.error(
                    Response.Status.FORBIDDEN, "orgId " + user.orgId() + " is not the organisation of this key");
        }
        if ("admin".equals(user.role()) && !caller.has(Scopes.ADMIN)) {
            throw ApiErrors.error(Response.Status.FORBIDDEN, "a user with role admin needs a key with the admin scope");
        }
        try {
            Response response = key == null
                    ? writes.write(h -> {
                        User created = h.attach(UserWriteDao.class).create(user);
                        return new IdempotentWrites.Answer(
                                201,
                                created,
                                UriBuilder.fromResource(UsersResource.class)
                                        .path("{id}")
                                        .build(created.id()));
                    })
                    : createWithKey(caller.orgId(), key, user);
            orgChanged.accept(user.orgId()); // after the commit, so no reader can cache the old count
            return response;
        } catch (DuplicateEmailException e) {
            throw ApiErrors.error(Response.Status.CONFLICT, e.getMessage());
        }
    }

    /** The same insert, its key claimed and its answer stored in the same statement (one round trip). */
    private Response createWithKey(long orgId, String key, NewUser user) {
        try {
            return writes.write(orgId, SCOPE, key, user, insertWithKey, (st, first) -> {
                        st.setString(first, user.email());
                        st.setString(first + 1, user.role());
                        st.setLong(first + 2, user.orgId());
                        st.setInt(first + 3, user.age());
                        st.setString(first + 4, LOCATION_PREFIX);
                    })
                    .orElseThrow(() -> new IllegalStateException("an insert of a user wrote no row"));
        } catch (UnableToExecuteStatementException e) {
            throw UserWriteDao.failure(e, user);
        }
    }
}
