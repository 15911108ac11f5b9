package dev.fortress.auth;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.annotation.security.DenyAll;
import jakarta.annotation.security.PermitAll;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The start-up check that refuses a route without an access rule, on resources made for it: what it
 * finds open, with a rule on the method, on the class, and in a sub-resource.
 */
class AccessRulesTest {

    @Path("/guarded")
    public static class Guarded {
        @GET
        @RolesAllowed(Scopes.READ)
        public String read() {
            return "";
        }

        @POST
        @RolesAllowed({Scopes.WRITE, Scopes.ADMIN})
        public String write() {
            return "";
        }

        @GET
        @Path("/closed")
        @DenyAll
        public String closed() {
            return "";
        }
    }

    @Path("/open")
    public static class Open {
        @GET
        public String forgotten() {
            return "";
        }

        @GET
        @Path("/{id}/also")
        public String alsoForgotten() {
            return "";
        }

        @POST
        @PermitAll
        public String anyKey() {
            return "";
        }
    }

    @Path("/by-class")
    @RolesAllowed(Scopes.IMPORT)
    public static class ByClass {
        @GET
        @Path("/{id}")
        public String inherited() {
            return "";
        }
    }

    @Test
    void routesWithoutARuleAreFoundWhereverTheyAre() {
        List<AccessRules.Route> open = AccessRules.withoutRule(List.of(Guarded.class, Open.class, ByClass.class));

        assertThat(open.stream().map(AccessRules.Route::toString)).containsExactly("GET /open", "GET /open/{id}/also");
    }

    @Test
    void everyRouteIsListedWithItsRule() {
        List<String> routes = AccessRules.routes(List.of(Guarded.class, Open.class, ByClass.class)).stream()
                .map(route -> route + " " + route.rule())
                .toList();

        assertThat(routes)
                .containsExactly(
                        "GET /by-class/{id} import",
                        "GET /guarded read",
                        "POST /guarded write,admin",
                        "GET /guarded/closed nobody",
                        "GET /open null",
                        "POST /open any key",
                        "GET /open/{id}/also null");
    }

    @Test
    void classesThatAreNoResourcesAreNotRoutes() {
        assertThat(AccessRules.routes(List.of(String.class, AccessRulesTest.class)))
                .isEmpty();
    }
}
