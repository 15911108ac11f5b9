package dev.fortress.auth;

/** The access rule of one request, as {@link Access} decides it; what a route served outside Jersey asks. */
@FunctionalInterface
public interface AccessCheck {

    /**
     * The caller of this {@code Authorization} header if its key may use a route that needs
     * {@code scope} and is within its limits, else the answer the request gets instead (401, 403,
     * 429), counted under the route's {@code family}. {@code address}: the client's (the remote
     * address of the connection), which requests without a valid key are limited by. The caller of
     * an {@link Access.Allowed} is {@link Access.Allowed#release}d once its request is answered.
     */
    Access.Decision check(String authorization, String address, String scope, String family);
}
