package dev.fortress.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.fortress.cache.Redis;
import dev.fortress.db.Databases;
import dev.fortress.db.Reads;
import io.dropwizard.auth.AuthDynamicFeature;
import io.dropwizard.auth.AuthValueFactoryProvider;
import io.dropwizard.auth.AuthenticationException;
import io.dropwizard.auth.JSONUnauthorizedHandler;
import io.dropwizard.auth.UnauthorizedHandler;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jersey.errors.ErrorMessage;
import io.dropwizard.lifecycle.Managed;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.glassfish.jersey.server.filter.RolesAllowedDynamicFeature;
import org.glassfish.jersey.server.internal.LocalizationMessages;

/**
 * Who may call what, in one place. Every route needs {@code Authorization: Bearer <key>}: Jersey's
 * routes through dropwizard-auth ({@link BearerKeyFilter}, {@code @Auth Caller} parameters, scopes
 * as {@code @RolesAllowed} checked by Jersey's {@code RolesAllowedDynamicFeature}), and the routes
 * {@code DirectGetFilter} serves in front of Jersey through {@link #check}, which runs the same
 * parse, the same cached authenticator and the same scope rule and answers the same 401 and 403.
 * <p>
 * A key that is found is kept for {@code auth.cacheFor} ({@link KeyCache}), or until it expires if
 * that comes first, and dropped as soon as the instance learns it was revoked: every instance asks
 * for recent revocations every {@code auth.revocationCheckInterval} ({@link Revocations}), which is
 * how a revocation reaches them all, without Redis or any message between them. A key that is not
 * found is looked up every time (nothing is kept for it, so a flood of guessed keys cannot push real
 * ones out of the cache); one that is not even well formed is refused without a look-up.
 */
public final class Access implements AccessCheck {

    static final String SCHEME = "Bearer";
    static final String REALM = "fortress";

    /** What {@link #check} decided: the caller, or the answer the request gets instead. */
    public sealed interface Decision permits Allowed, Refused {}

    /**
     * An admitted caller: {@code rateLimit} is the {@code RateLimit} field its answer carries (null:
     * none), and the caller holds one of its in-flight places until {@link #release} (null: none).
     */
    public record Allowed(Caller caller, String rateLimit, AtomicInteger inFlight) implements Decision {

        public Allowed(Caller caller) {
            this(caller, null, null);
        }

        /** Gives back the in-flight place: once, when the request has been answered. */
        public void release() {
            if (inFlight != null) {
                inFlight.decrementAndGet();
            }
        }
    }

    /**
     * The answer a request gets instead of being served; {@code known}: for a key refused for its
     * rate, until when it stays refused whatever any instance does (else null).
     */
    public record Refused(Response response, RateRefusal known) implements Decision {

        public Refused(Response response) {
            this(response, null);
        }
    }

    /**
     * A key over its rate until {@code untilNanos} ({@link System#nanoTime}): the fields of its 429
     * ({@code Retry-After} in seconds, {@code RateLimit-Policy}, {@code RateLimit}, the message).
     */
    public record RateRefusal(long untilNanos, long retryAfter, String policy, String state, String message) {}

    private final KeyCache cache;
    private final ApiKeyAuthenticator keys;
    private final UnauthorizedHandler unauthorized = new JSONUnauthorizedHandler();
    /**
     * The 401 {@link #check} answers, built once: the filter only reads a response, and building it
     * (a formatted challenge, a response builder) was 1.7% of a 401's CPU samples
     * (bench/results/2026-12-05-auth-profile.md's run).
     */
    private final Response unauthenticated = unauthorized.buildResponse(SCHEME, REALM);

    private final Refusals refusals;
    private final RateLimiter limits;
    /**
     * The {@code Authorization} headers of keys refused for their rate, each until its bucket admits
     * again: the edge answers their requests ({@link #refusedAtEdge}) without Jersey or Redis.
     */
    private final Cache<String, RateRefusal> refusedKeys;
    /** The unknown keys the warm-up sends on purpose (401), which its per-address limit must not turn into 429s. */
    private final Set<String> ownUnknownKeys = ConcurrentHashMap.newKeySet();

    private Access(KeyCache cache, ApiKeyAuthenticator keys, Refusals refusals, RateLimiter limits, int maxRefused) {
        this.refusedKeys = Caffeine.newBuilder()
                .maximumSize(maxRefused)
                .expireAfter(Expiry.creating((String header, RateRefusal refusal) ->
                        java.time.Duration.ofNanos(Math.max(0, refusal.untilNanos() - System.nanoTime()))))
                .build();
        this.cache = cache;
        this.keys = keys;
        this.refusals = refusals;
        this.limits = limits;
    }

    /**
     * Builds the authenticator on {@code databases} (keys are read where reads go, written on the
     * writer), its cache and the check of revocations, and registers with Jersey: the bearer-key
     * filter, the scope rule, {@code @Auth Caller} injection, and the count of refusals per route
     * family. As the server starts it refuses to serve a route that has no access rule.
     */
    public static Access build(
            AuthConfiguration config,
            RateLimitsConfiguration rateLimits,
            Environment environment,
            Databases databases,
            Redis redis) {
        LastUse lastUse = new LastUse(
                databases.writer(),
                environment
                        .lifecycle()
                        .scheduledExecutorService("api-key-last-use", true)
                        .threads(1)
                        .build(),
                config.getLastUseFlushInterval().toMilliseconds());
        environment.lifecycle().manage(lastUse);
        Reads<ApiKeyReadDao> reads = databases.reads(JdbcApiKeyReadDao::new);
        ApiKeyAuthenticator keys = new ApiKeyAuthenticator(reads);
        long interval = config.getRevocationCheckInterval().toNanoseconds();
        KeyCache cache = new KeyCache(
                keys,
                config.getCacheFor().toNanoseconds(),
                config.getCachedKeys(),
                Revocations.staleAfterNanos(interval),
                lastUse,
                Clock.systemUTC()::millis,
                System::nanoTime,
                environment.metrics());
        // Each check looks back further than any key is kept, plus a minute for clocks and commits.
        environment
                .lifecycle()
                .manage(new Revocations(
                        reads,
                        cache,
                        interval,
                        config.getCacheFor().toSeconds() + 60.0,
                        environment
                                .lifecycle()
                                .scheduledExecutorService("api-key-revocations", true)
                                .threads(1)
                                .build(),
                        System::nanoTime));
        Refusals refusals = new Refusals(environment.metrics());
        Access access = new Access(
                cache,
                keys,
                refusals,
                new RateLimiter(rateLimits, redis, environment.metrics(), System::nanoTime),
                rateLimits.getLocalBuckets());

        environment
                .jersey()
                .register(new AuthDynamicFeature(new BearerKeyFilter.Builder(access)
                        .setAuthenticator(access::authenticate)
                        .setAuthorizer((caller, scope, request) -> caller.has(scope))
                        .setPrefix(SCHEME)
                        .setRealm(REALM)
                        .setUnauthorizedHandler(access.unauthorized)
                        .buildAuthFilter()));
        environment.jersey().register(RolesAllowedDynamicFeature.class);
        environment.jersey().register(new AuthValueFactoryProvider.Binder<>(Caller.class));
        environment.jersey().register(new RefusalCounter(refusals));
        environment.jersey().register(new RateLimitField());
        // First in the chain: whatever happens in Jersey, the in-flight place it took is given back.
        environment
                .servlets()
                .addFilter("rate-limit-release", new ReleaseInFlight())
                .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, "/*");
        environment.lifecycle().manage(new Managed() {
            @Override
            public void start() {
                List<Class<?>> resources =
                        new ArrayList<>(environment.jersey().getResourceConfig().getClasses());
                environment.jersey().getResourceConfig().getInstances().forEach(r -> resources.add(r.getClass()));
                List<AccessRules.Route> open = AccessRules.withoutRule(resources);
                if (!open.isEmpty()) {
                    throw new IllegalStateException("routes without an access rule (@RolesAllowed(scope), @PermitAll "
                            + "or @DenyAll on the method or its class): " + open);
                }
                AccessRules.routes(resources).forEach(route -> refusals.family(family(route.resource())));
            }
        });
        return access;
    }

    /**
     * The key of an {@code Authorization: Bearer <key>} header (the scheme in any case, as
     * dropwizard-auth's OAuth filter reads it), or null.
     */
    static String credentials(String header) {
        if (header == null) {
            return null;
        }
        int space = header.indexOf(' ');
        if (space <= 0 || !SCHEME.equalsIgnoreCase(header.substring(0, space))) {
            return null;
        }
        return header.substring(space + 1);
    }

    /**
     * The caller of a key. Only a key of the right length and prefix reaches the cache (a cheap
     * test, since a request whose key is kept pays it); the look-up checks the whole form first.
     */
    Optional<Caller> authenticate(String key) throws AuthenticationException {
        if (key == null || key.length() != ApiKeyFormat.LENGTH || !key.startsWith(ApiKeyFormat.PREFIX)) {
            return Optional.empty();
        }
        return cache.authenticate(key);
    }

    /**
     * For a route served outside Jersey ({@code DirectGetFilter}): the caller of this
     * {@code Authorization} header if its key may use a route that needs {@code scope} and is within
     * its limits ({@link #admit}), else the 401, 403 or 429 Jersey gives such a request, counted
     * under {@code family} as Jersey's are. A database that cannot be asked about a key not cached
     * throws as the route's own reads do. An {@link Allowed} caller must be {@link Allowed#release}d.
     */
    @Override
    public Decision check(String authorization, String address, String scope, String family) {
        String key = credentials(authorization);
        Optional<Caller> caller;
        try {
            caller = authenticate(key);
        } catch (AuthenticationException e) {
            throw new IllegalStateException(e); // never: ApiKeyAuthenticator throws no checked exception
        }
        if (caller.isEmpty()) {
            Response over = overUnauthenticated(key, address);
            if (over != null) {
                return new Refused(over);
            }
            refusals.family(family).unauthenticated();
            return new Refused(unauthenticated);
        }
        Decision admitted = admit(caller.get(), authorization);
        if (admitted instanceof Allowed allowed && !caller.get().has(scope)) {
            allowed.release();
            refusals.family(family).forbidden();
            return new Refused(forbidden());
        }
        return admitted;
    }

    /**
     * The limits of a caller with a valid key, for both paths (this class's {@link #check} and
     * Jersey's {@link BearerKeyFilter}): its rate shared by all instances and its requests in flight
     * here ({@link RateLimiter}). At most one Redis round trip; no exception.
     */
    Decision admit(Caller caller, String authorization) {
        Decision decision = limits.admit(caller);
        if (decision instanceof Refused refused && refused.known() != null && authorization != null) {
            refusedKeys.put(authorization, refused.known());
        }
        return decision;
    }

    /**
     * For the edge, before any handler: the 429 of a request whose {@code Authorization} header is a
     * key refused for its rate and still over it, or null. Counted as every 429 of a key's rate.
     */
    public RateRefusal refusedAtEdge(String authorization) {
        RateRefusal refusal = refusedKeys.getIfPresent(authorization);
        if (refusal == null || refusal.untilNanos() - System.nanoTime() <= 0) {
            return null;
        }
        limits.refusedAtEdge();
        return refusal;
    }

    /**
     * For a request without a valid key (it would get a 401): the 429 when its address is over
     * {@code rateLimits.unauthenticatedRequestsPerSecond}, else null. The warm-up's own unknown key is
     * not counted.
     */
    Response overUnauthenticated(String key, String address) {
        if (key != null && ownUnknownKeys.contains(key)) {
            return null;
        }
        return limits.unauthenticated(address == null ? "unknown" : address);
    }

    /** Jersey's 403 for a key without the route's scope, as Dropwizard's exception mapper words it. */
    static Response forbidden() {
        return Response.status(Response.Status.FORBIDDEN)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(new ErrorMessage(403, LocalizationMessages.USER_NOT_AUTHORIZED()))
                .build();
    }

    /** The refusal counts of a route family, for the cross-tenant answers a route decides itself. */
    public Refusals.Family refusals(String family) {
        return refusals.family(family);
    }

    /** The family of a resource's routes: its root path without the slash ({@code /users}: users). */
    public static String family(Class<?> resource) {
        Path path = resource.getAnnotation(Path.class);
        String value = path == null ? resource.getSimpleName() : path.value();
        return value.replaceAll("^/+|/.*$", "");
    }

    /**
     * A key of {@code orgId} with {@code scopes} that this process alone accepts, until closed (the
     * warm-up calls its own routes with one). It is never written anywhere.
     */
    public TemporaryKey temporaryKey(long orgId, Set<String> scopes) {
        return new TemporaryKey(keys.temporary(orgId, scopes));
    }

    /** A key only this process knows; closing it refuses it from then on. */
    public final class TemporaryKey implements AutoCloseable {
        private final String key;
        private final String unknown = ApiKeyFormat.generate(new SecureRandom());

        private TemporaryKey(String key) {
            this.key = key;
            ownUnknownKeys.add(unknown);
        }

        /**
         * An {@code Authorization} header with a well-formed key no one has (401), whose requests the
         * per-address limit does not count while this key is open: the warm-up sends it on purpose.
         */
        public String unknownAuthorization() {
            return SCHEME + " " + unknown;
        }

        /** The {@code Authorization} header that presents it. */
        public String authorization() {
            return SCHEME + " " + key;
        }

        @Override
        public void close() {
            keys.forget(key);
            cache.drop(key);
            ownUnknownKeys.remove(unknown);
        }
    }

    /** Jersey's request property (a servlet request attribute) that holds an admitted request's {@link Allowed}. */
    static final String ADMITTED = Access.class.getName() + ".admitted";

    /** The {@code RateLimit} field on the answers of admitted requests Jersey serves. */
    private static final class RateLimitField implements ContainerResponseFilter {
        @Override
        public void filter(ContainerRequestContext request, ContainerResponseContext response) {
            if (request.getProperty(ADMITTED) instanceof Allowed allowed
                    && allowed.rateLimit() != null
                    && !response.getHeaders().containsKey("RateLimit")) {
                response.getHeaders().putSingle("RateLimit", allowed.rateLimit());
            }
        }
    }

    /**
     * Gives back the in-flight place of a request Jersey admitted ({@link BearerKeyFilter} leaves its
     * {@link Allowed} as a request attribute), in a {@code finally}: a response filter does not run
     * on every path out of Jersey, and a place never given back would shrink the key's limit for good.
     */
    private static final class ReleaseInFlight implements Filter {
        @Override
        public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
                throws IOException, ServletException {
            try {
                chain.doFilter(request, response);
            } finally {
                if (request.getAttribute(ADMITTED) instanceof Allowed allowed) {
                    request.removeAttribute(ADMITTED);
                    allowed.release();
                }
            }
        }
    }

    /** Counts the 401s and 403s Jersey answers, per route family (DirectGetFilter counts its own in {@link #check}). */
    private static final class RefusalCounter implements ContainerResponseFilter {
        private final Refusals refusals;

        @Context
        private ResourceInfo resource;

        RefusalCounter(Refusals refusals) {
            this.refusals = refusals;
        }

        @Override
        public void filter(ContainerRequestContext request, ContainerResponseContext response) {
            int status = response.getStatus();
            if ((status == 401 || status == 403) && resource != null && resource.getResourceClass() != null) {
                refusals.family(family(resource.getResourceClass())).byStatus(status);
            }
        }
    }
}
