package dev.fortress.ops;

import java.util.function.Supplier;

/**
 * One request the warm-up sends to its own application port, and the status it must answer.
 * {@code path} is drawn anew for every request (say, a random existing user), so the warm-up
 * exercises the same code and data a client's requests will; {@code body} is null for a GET.
 * {@code authenticated} requests carry the warm-up's key; the others a well-formed key that does not
 * exist, as a client guessing keys would send (the look-up and the 401 are warmed too).
 */
public record WarmupRequest(
        String route, String method, Supplier<String> path, String body, int status, boolean authenticated) {

    public static WarmupRequest get(String route, Supplier<String> path, int status) {
        return new WarmupRequest(route, "GET", path, null, status, true);
    }

    public static WarmupRequest post(String route, String path, String jsonBody, int status) {
        return new WarmupRequest(route, "POST", () -> path, jsonBody, status, true);
    }

    /** A GET with an unknown key: 401. */
    public static WarmupRequest unauthenticated(String route, Supplier<String> path) {
        return new WarmupRequest(route, "GET", path, null, 401, false);
    }

    /** "GET /users/{id} 200", as the log line and the health message name it. */
    public String label() {
        return method + " " + route + " " + status;
    }
}
