package dev.fortress.idempotency;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.http.ApiErrors;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;

/**
 * Writes guarded by an {@code Idempotency-Key} (IETF httpapi draft "The Idempotency-Key HTTP
 * Header Field"). The first request with a key holds it (a transaction-scoped advisory lock) while
 * it writes, and stores key, request fingerprint and answer in the write's own transaction, so no
 * crash can separate the write from its key. A repeat with the same fingerprint replays the stored
 * answer and writes nothing; with another fingerprint it is a 422; while the first still holds the
 * key, a 409. Failed writes roll back and store nothing: their repeat is tried afresh.
 */
public final class IdempotentWrites {

    public static final String KEY_HEADER = "Idempotency-Key";
    public static final String REPLAYED_HEADER = "Idempotent-Replayed";
    static final int MAX_KEY_LENGTH = 255;

    /** What a write answers: its status, its entity (stored as JSON) and its Location, if any. */
    public record Answer(int status, Object entity, URI location) {
    }

    private final Jdbi writer;
    private final IdempotencyStatements statements;
    private final ObjectMapper json;
    private final Meter stored;
    private final Meter replayed;
    private final Meter mismatched;
    private final Meter inFlight;

    public IdempotentWrites(Jdbi writer, ObjectMapper json, long retentionSeconds, MetricRegistry metrics) {
        this.writer = writer;
        this.statements = new IdempotencyStatements(writer, retentionSeconds);
        this.json = json;
        String prefix = "dev.fortress.idempotency";
        this.stored = metrics.meter(MetricRegistry.name(prefix, "stored"));
        this.replayed = metrics.meter(MetricRegistry.name(prefix, "replayed"));
        this.mismatched = metrics.meter(MetricRegistry.name(prefix, "mismatched"));
        this.inFlight = metrics.meter(MetricRegistry.name(prefix, "in-flight"));
    }

    /**
     * The header's value as a key, or null when absent; a 400 unless it is 1 to 255 printable
     * ASCII characters (Jetty has already trimmed surrounding spaces).
     */
    public static String key(String header) {
        if (header == null) {
            return null;
        }
        boolean printable = header.chars().allMatch(c -> c >= 0x20 && c <= 0x7e);
        if (header.isEmpty() || header.length() > MAX_KEY_LENGTH || !printable) {
            throw ApiErrors.error(Response.Status.BAD_REQUEST,
                    KEY_HEADER + " must be 1 to " + MAX_KEY_LENGTH + " printable ASCII characters");
        }
        return header;
    }

    /**
     * Runs {@code write} on the writer: on its own without a key (as if this class did not exist),
     * else in one transaction with the key held and stored. A key belongs to the calling
     * organisation {@code orgId} and the route {@code scope}: the same key elsewhere is another key.
     * The request's fingerprint is the SHA-256 of {@code request} as JSON, the body as the route
     * parsed it (whitespace and key order do not count; unknown fields are ignored, as the route
     * ignores them).
     */
    public Response write(long orgId, String scope, String key, Object request,
                          HandleCallback<Answer, RuntimeException> write) {
        if (key == null) {
            Answer answer = writer.withHandle(write);
            return fresh(answer, answer.entity());
        }
        byte[] fingerprint = sha256(toJson(request).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (int attempt = 1; ; attempt++) {
            try {
                return writer.inTransaction(h -> {
                    Claim claim = claim(h, orgId, scope, key);
                    if (claim.earlier().isPresent()) {
                        return replay(claim.earlier().get(), fingerprint, key);
                    }
                    Answer answer = write.withHandle(h);
                    String body = toJson(answer.entity());
                    claim.store(fingerprint, answer.status(), body, answer.location());
                    return fresh(answer, body);
                });
            } catch (ClaimedMeanwhile e) {
                if (attempt == 2) { // the first's answer is committed: the second claim reads it
                    throw new IllegalStateException("Idempotency-Key " + key + " raced twice", e);
                }
            }
        }
    }

    /** A key's stored answer. */
    public record Stored(byte[] fingerprint, int status, String body, String location) {
    }

    /**
     * The first request committed between this one's claim and its store; the transaction rolls
     * back, and a new claim reads the first one's answer. Carries this request's fingerprint.
     */
    public static final class ClaimedMeanwhile extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient byte[] fingerprint;

        ClaimedMeanwhile(byte[] fingerprint) {
            super(null, null, false, false);
            this.fingerprint = fingerprint;
        }

        public byte[] fingerprint() {
            return fingerprint;
        }
    }

    /** A key held by the current transaction, with what it found stored. */
    public final class Claim {
        private final Handle handle;
        private final long orgId;
        private final String scope;
        private final String key;
        private final Optional<Stored> earlier;

        private Claim(Handle handle, long orgId, String scope, String key, Optional<Stored> earlier) {
            this.handle = handle;
            this.orgId = orgId;
            this.scope = scope;
            this.key = key;
            this.earlier = earlier;
        }

        /** The key's live stored answer, if any (an expired one counts as none). */
        public Optional<Stored> earlier() {
            return earlier;
        }

        /**
         * After the write, in its transaction: the key, fingerprint and answer, committed with it.
         * Throws {@link ClaimedMeanwhile} (roll back, claim again) if a first request got there first.
         */
        public void store(byte[] fingerprint, int status, String body, URI location) {
            if (statements.store(handle, orgId, scope, key, fingerprint, status, body,
                    location == null ? null : location.toString()) == 0) {
                throw new ClaimedMeanwhile(fingerprint);
            }
            stored.mark();
        }
    }

    /**
     * In the write's transaction: takes the key, a 409 if another request holds it, and returns
     * what it found stored.
     */
    public Claim claim(Handle h, long orgId, String scope, String key) {
        IdempotencyStatements.Claim found = statements.claim(h, orgId, scope, key);
        if (!found.locked()) {
            inFlight.mark();
            throw ApiErrors.error(Response.Status.CONFLICT, KEY_HEADER + " " + key
                    + " is in use by a request still running; retry once it has answered");
        }
        Optional<Stored> earlier = found.fingerprint() != null && Boolean.TRUE.equals(found.live())
                ? Optional.of(new Stored(found.fingerprint(), found.status(), found.body(), found.location()))
                : Optional.empty();
        return new Claim(h, orgId, scope, key, earlier);
    }

    /** The stored answer again, marked as a replay; a 422 if the request differs from the first. */
    public Response replay(Stored earlier, byte[] fingerprint, String key) {
        if (!MessageDigest.isEqual(earlier.fingerprint(), fingerprint)) {
            mismatched.mark();
            throw mismatch(key);
        }
        replayed.mark();
        Response.ResponseBuilder answer = Response.status(earlier.status()).type(MediaType.APPLICATION_JSON_TYPE)
                .entity(earlier.body()).header(REPLAYED_HEADER, "true");
        if (earlier.location() != null) {
            answer.location(URI.create(earlier.location()));
        }
        return answer.build();
    }

    /** The answer of a first request: the same JSON bytes a replay will send. */
    public Response fresh(Answer answer, Object entity) {
        Response.ResponseBuilder response = Response.status(answer.status()).type(MediaType.APPLICATION_JSON_TYPE)
                .entity(entity);
        if (answer.location() != null) {
            response.location(answer.location());
        }
        return response.build();
    }

    public String toJson(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("not serialisable as JSON: " + value.getClass().getName(), e);
        }
    }

    public static byte[] sha256(byte[] bytes) {
        return sha256().digest(bytes);
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static WebApplicationException mismatch(String key) {
        return ApiErrors.error(422, KEY_HEADER + " " + key
                + " was already used with a different request body");
    }
}
