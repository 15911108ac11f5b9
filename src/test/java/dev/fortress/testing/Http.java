package dev.fortress.testing;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * A plain HTTP client for full-app tests: every call reads the whole answer and has a deadline.
 * One made {@link #as} a key sends {@code Authorization: Bearer <key>} with every request.
 */
public final class Http {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private final HttpClient client;
    private final String base;
    private final String authorization;

    public Http(String host, int port) {
        this(
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build(),
                "http://" + host + ":" + port,
                null);
    }

    /** On a client of the caller's (e.g. one that speaks HTTP/1.1 only, as behind a load balancer). */
    public Http(HttpClient client, String host, int port) {
        this(client, "http://" + host + ":" + port, null);
    }

    private Http(HttpClient client, String base, String authorization) {
        this.client = client;
        this.base = base;
        this.authorization = authorization;
    }

    /** The same client, calling with {@code key} ({@code Authorization: Bearer <key>}). */
    public Http as(String key) {
        return withAuthorization("Bearer " + key);
    }

    /** The same client, sending exactly this {@code Authorization} header with every request. */
    public Http withAuthorization(String header) {
        return new Http(client, base, header);
    }

    /** The same client, sending no key. */
    public Http anonymous() {
        return new Http(client, base, null);
    }

    public URI uri(String path) {
        return URI.create(base + path);
    }

    public HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
    }

    public HttpResponse<String> postJson(String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    public HttpResponse<String> send(HttpRequest.Builder request) {
        return send(request, DEADLINE);
    }

    /** With a deadline of the caller's instead of the usual 10 s (a client that waits out a failover). */
    public HttpResponse<String> send(HttpRequest.Builder request, Duration deadline) {
        if (authorization != null) {
            request.setHeader("Authorization", authorization);
        }
        try {
            return client.send(request.timeout(deadline).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static Map<String, Object> json(HttpResponse<String> response) {
        try {
            return JSON.readValue(response.body(), new TypeReference<>() {});
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + response.body(), e);
        }
    }
}
