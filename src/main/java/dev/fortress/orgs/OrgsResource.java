package dev.fortress.orgs;

import com.codahale.metrics.annotation.ResponseMetered;
import com.codahale.metrics.annotation.Timed;
import dev.fortress.auth.Caller;
import dev.fortress.auth.Refusals;
import dev.fortress.auth.Scopes;
import dev.fortress.http.ApiErrors;
import dev.fortress.http.PathIds;
import io.dropwizard.auth.Auth;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.OptionalLong;

@Path("/orgs")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "orgs", description = "The caller's organisation.")
public class OrgsResource {

    private final OrgStatsCache stats;
    private final Refusals.Family refusals;

    OrgsResource(OrgStatsCache stats, Refusals.Family refusals) {
        this.stats = stats;
        this.refusals = refusals;
    }

    /**
     * The caller's own organisation, aggregated on the reader, cached in Redis; {@code X-Cache} says
     * which. Any other organisation is 404, as if it did not exist, before Redis or the database is
     * asked (so no caller can fill the cache with entries); a segment that is not an id answers 404
     * without an exception (see {@link PathIds}).
     */
    @GET
    @Path("/{orgId}/stats")
    @RolesAllowed(Scopes.READ)
    @Timed(name = "stats")
    @ResponseMetered(name = "stats")
    @Operation(
            operationId = "getOrgStats",
            summary = "The caller's organisation's user count and average age",
            description = "Cached in Redis and briefly in memory; a write of the organisation's users is counted "
                    + "at once, so an X-Consistency-Token is not needed (and ignored).",
            responses = {
                @ApiResponse(
                        responseCode = "200",
                        description = "The stats (avgAge null for no users).",
                        headers =
                                @Header(
                                        name = "X-Cache",
                                        description = "hit: answered from a cache; miss: not.",
                                        schema =
                                                @Schema(
                                                        type = "string",
                                                        allowableValues = {"hit", "miss"})),
                        content = @Content(schema = @Schema(implementation = OrgStats.class))),
                @ApiResponse(
                        responseCode = "404",
                        description = "Any organisation but the key's, or an id that is not one.")
            })
    public Response stats(
            @Parameter(hidden = true) @Auth Caller caller,
            @Parameter(
                            description = "The key's own organisation.",
                            schema = @Schema(type = "integer", format = "int64"))
                    @PathParam("orgId")
                    String orgId) {
        OptionalLong id = PathIds.parse(orgId);
        if (id.isEmpty()) {
            return ApiErrors.notFound();
        }
        if (id.getAsLong() != caller.orgId()) {
            refusals.crossTenant();
            return ApiErrors.notFound("organisation " + id.getAsLong() + " not found");
        }
        OrgStatsCache.Lookup lookup = stats.get(id.getAsLong());
        return Response.ok(lookup.stats())
                .header("X-Cache", lookup.hit() ? "hit" : "miss")
                .build();
    }
}
