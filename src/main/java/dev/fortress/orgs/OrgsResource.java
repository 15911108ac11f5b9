package dev.fortress.orgs;

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

    /** Aggregated on the reader, cached in Redis; {@code X-Cache} says which. Any org id answers. */
    @GET
    @Path("/{orgId}/stats")
    @Timed(name = "stats")
    @ResponseMetered(name = "stats")
    public Response stats(@PathParam("orgId") long orgId) {
        OrgStatsCache.Lookup lookup = stats.get(orgId);
        return Response.ok(lookup.stats()).header("X-Cache", lookup.hit() ? "hit" : "miss").build();
    }
}
