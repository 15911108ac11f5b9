package dev.fortress.auth;

import io.dropwizard.auth.AuthFilter;
import jakarta.annotation.Priority;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

/**
 * dropwizard-auth's filter for {@code Authorization: Bearer <key>}, run by Jersey before every
 * resource method that has an access rule (every one: {@link AccessRules}). The same as its
 * {@code OAuthCredentialAuthFilter} but for one thing: a key in the query string
 * ({@code ?access_token=}) is not read, since URLs end up in access logs, proxies and browser
 * histories. {@link Access#credentials} parses the header, for this filter and {@code DirectGetFilter} alike.
 */
@Priority(Priorities.AUTHENTICATION)
final class BearerKeyFilter extends AuthFilter<String, Caller> {

    private final Access access;

    @Context
    private HttpServletRequest servletRequest;

    private BearerKeyFilter(Access access) {
        this.access = access;
    }

    /**
     * Authenticates, then applies the same limits as {@link Access#check} ({@link Access#admit},
     * {@link Access#overUnauthenticated}): a 429 aborts the request without an exception; an
     * admitted request's {@link Access.Allowed} is left as the request property {@link Access#ADMITTED}
     * (a servlet request attribute) for the {@code RateLimit} field and the release of its in-flight place.
     */
    @Override
    public void filter(ContainerRequestContext request) {
        String authorization = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        String key = Access.credentials(authorization);
        if (!authenticate(request, key, Access.SCHEME)) {
            // No servlet request in Jersey's in-memory test container: one address for all there.
            Response over =
                    access.overUnauthenticated(key, servletRequest == null ? null : servletRequest.getRemoteAddr());
            if (over != null) {
                request.abortWith(over);
                return;
            }
            throw unauthorizedHandler.buildException(prefix, realm);
        }
        Access.Decision decision =
                access.admit((Caller) request.getSecurityContext().getUserPrincipal(), authorization);
        if (decision instanceof Access.Refused refused) {
            request.abortWith(refused.response());
            return;
        }
        request.setProperty(Access.ADMITTED, decision);
    }

    static final class Builder extends AuthFilterBuilder<String, Caller, BearerKeyFilter> {
        private final Access access;

        Builder(Access access) {
            this.access = access;
        }

        @Override
        protected BearerKeyFilter newInstance() {
            return new BearerKeyFilter(access);
        }
    }
}
