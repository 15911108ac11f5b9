package dev.fortress.auth;

import jakarta.annotation.security.DenyAll;
import jakarta.annotation.security.PermitAll;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Path;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.glassfish.jersey.server.model.Resource;
import org.glassfish.jersey.server.model.ResourceMethod;

/**
 * Every route has an access rule: {@code @RolesAllowed(<scope>)} (a key with that scope),
 * {@code @PermitAll} (any valid key) or {@code @DenyAll}, on its method or its class. A route
 * without one would be served to anyone, so the application refuses to start with it
 * ({@link Access} checks the registered resources as the server starts), and the access test walks
 * {@link #routes} of the same resources.
 */
public final class AccessRules {

    /** One route of a resource and its rule: the scopes it needs, "any key", "nobody", or null for none. */
    public record Route(String method, String path, Class<?> resource, Method handler, String rule) {

        /** The scopes of which a key needs one ({@code @RolesAllowed}); empty for any other rule. */
        public List<String> scopes() {
            return rule == null || rule.equals(ANY_KEY) || rule.equals(NOBODY) ? List.of() : List.of(rule.split(","));
        }

        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    private static final String ANY_KEY = "any key";
    private static final String NOBODY = "nobody";

    private AccessRules() {}

    /** The routes of {@code resources} (Jersey's model of them: what it will match), sorted by path and method. */
    public static List<Route> routes(Iterable<Class<?>> resources) {
        List<Route> routes = new ArrayList<>();
        for (Class<?> type : resources) {
            if (type.isAnnotationPresent(Path.class) && Resource.isAcceptable(type)) {
                collect(Resource.from(type), "", type, routes);
            }
        }
        routes.sort(Comparator.comparing(Route::path).thenComparing(Route::method));
        return routes;
    }

    /** The routes among {@code resources} that have no rule: none, or the server does not start. */
    public static List<Route> withoutRule(Iterable<Class<?>> resources) {
        return routes(resources).stream().filter(route -> route.rule() == null).toList();
    }

    private static void collect(Resource resource, String parent, Class<?> type, List<Route> routes) {
        String path = join(parent, resource.getPath());
        for (ResourceMethod method : resource.getAllMethods()) {
            Method handler = method.getInvocable().getDefinitionMethod();
            String verb = method.getHttpMethod() == null ? "LOCATOR" : method.getHttpMethod();
            routes.add(new Route(verb, path, type, handler, rule(handler, type)));
        }
        for (Resource child : resource.getChildResources()) {
            collect(child, path, type, routes);
        }
    }

    private static String rule(Method method, Class<?> type) {
        String rule = rule(method);
        return rule != null ? rule : rule(type);
    }

    private static String rule(AnnotatedElement element) {
        if (element.isAnnotationPresent(DenyAll.class)) {
            return NOBODY;
        }
        RolesAllowed roles = element.getAnnotation(RolesAllowed.class);
        if (roles != null) {
            return String.join(",", Arrays.asList(roles.value()));
        }
        return element.isAnnotationPresent(PermitAll.class) ? ANY_KEY : null;
    }

    private static String join(String parent, String path) {
        if (path == null || path.isEmpty()) {
            return parent.isEmpty() ? "/" : parent;
        }
        String child = path.startsWith("/") ? path : "/" + path;
        String joined = (parent.endsWith("/") ? parent.substring(0, parent.length() - 1) : parent) + child;
        return joined.length() > 1 && joined.endsWith("/") ? joined.substring(0, joined.length() - 1) : joined;
    }
}
