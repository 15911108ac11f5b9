package dev.fortress.orgs;

import dev.fortress.http.ApiErrors;
import dev.fortress.http.PathIds;
import java.util.OptionalLong;
import com.codahale.metrics.annotation.ResponseMetered;
import com.codahale.metrics.annotation.Timed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

@Path("/orgs")
@Produces(MediaType.APPLICATION_JSON)
public class OrgsResource {

    private final OrgStatsCache stats;

    OrgsResource(OrgStatsCache stats) {
        this.stats = stats;
    }

    /**
     * Aggregated on the reader, cached in Redis; {@code X-Cache} says which. Any org id answers; a
     * segment that is not one answers 404 without an exception (see {@link PathIds}).
     */
    @GET
    @Path("/{orgId}/stats")
    @Timed(name = "stats")
    @ResponseMetered(name = "stats")
    public Response stats(@PathParam("orgId") String orgId) {
        OptionalLong id = PathIds.parse(orgId);
        if (id.isEmpty()) {
            return ApiErrors.notFound();
        }
        OrgStatsCache.Lookup lookup = stats.get(id.getAsLong());
        return Response.ok(lookup.stats()).header("X-Cache", lookup.hit() ? "hit" : "miss").build();
    }
}
