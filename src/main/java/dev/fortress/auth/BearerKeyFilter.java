package dev.fortress.auth;

import io.dropwizard.auth.AuthFilter;
import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;

/**
 * dropwizard-auth's filter for {@code Authorization: Bearer <key>}, run by Jersey before every
 * resource method that has an access rule (every one: {@link AccessRules}). The same as its
 * {@code OAuthCredentialAuthFilter} but for one thing: a key in the query string
 * ({@code ?access_token=}) is not read, since URLs end up in access logs, proxies and browser
 * histories. {@link Access#credentials} parses the header, for this filter and {@code DirectGetFilter} alike.
 */
@Priority(Priorities.AUTHENTICATION)
final class BearerKeyFilter extends AuthFilter<String, Caller> {

    @Override
    public void filter(ContainerRequestContext request) {
        String key = Access.credentials(request.getHeaderString(HttpHeaders.AUTHORIZATION));
        if (!authenticate(request, key, Access.SCHEME)) {
            throw unauthorizedHandler.buildException(prefix, realm);
        }
    }

    static final class Builder extends AuthFilterBuilder<String, Caller, BearerKeyFilter> {
        @Override
        protected BearerKeyFilter newInstance() {
            return new BearerKeyFilter();
        }
    }
}
