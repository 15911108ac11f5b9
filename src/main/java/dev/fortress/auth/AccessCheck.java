package dev.fortress.auth;

/** The access rule of one request, as {@link Access} decides it; what a route served outside Jersey asks. */
@FunctionalInterface
public interface AccessCheck {

    /**
     * The caller of this {@code Authorization} header if its key may use a route that needs
     * {@code scope}, else the answer the request gets instead, counted under the route's {@code family}.
     */
    Access.Decision check(String authorization, String scope, String family);
}
