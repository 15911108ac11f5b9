package dev.fortress.idempotency;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.db.SqlStates;
import dev.fortress.http.ApiErrors;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Optional;
import java.util.function.Predicate;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * Writes guarded by an {@code Idempotency-Key} (IETF httpapi draft "The Idempotency-Key HTTP
 * Header Field"). The first request with a key holds it (a transaction-scoped advisory lock) while
 * it writes, and stores key, request fingerprint and answer in the write's own transaction, so no
 * crash can separate the write from its key. A repeat with the same fingerprint replays the stored
 * answer and writes nothing; with another fingerprint it is a 422; while the first still holds the
 * key, a 409. Failed writes roll back and store nothing: their repeat is tried afresh. POST /users
 * and POST /transactions do all of it in one statement, one round trip ({@link KeyedInsert});
 * POST /imports claims and stores in the transaction that stores its upload ({@link #claim}).
 */
public final class IdempotentWrites {

    public static final String KEY_HEADER = "Idempotency-Key";
    public static final String REPLAYED_HEADER = "Idempotent-Replayed";
    static final int MAX_KEY_LENGTH = 255;
    private static final String UNIQUE_VIOLATION = "23505";
    private static final String KEYS_PRIMARY_KEY = "idempotency_keys_pkey";

    /** What a write without a key answers: its status, its entity and its Location, if any. */
    public record Answer(int status, Object entity, URI location) {}

    private final Jdbi writer;
    private final IdempotencyStatements statements;
    private final ObjectMapper json;
    private final Meter stored;
    private final Meter replayed;
    private final Meter mismatched;
    private final Meter inFlight;
    private final Meter retried;

    public IdempotentWrites(Jdbi writer, ObjectMapper json, long retentionSeconds, MetricRegistry metrics) {
        this.writer = writer;
        this.statements = new IdempotencyStatements(writer, retentionSeconds);
        this.json = json;
        String prefix = "dev.fortress.idempotency";
        this.stored = metrics.meter(MetricRegistry.name(prefix, "stored"));
        this.replayed = metrics.meter(MetricRegistry.name(prefix, "replayed"));
        this.mismatched = metrics.meter(MetricRegistry.name(prefix, "mismatched"));
        this.inFlight = metrics.meter(MetricRegistry.name(prefix, "in-flight"));
        this.retried = metrics.meter(MetricRegistry.name(prefix, "retried"));
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
            throw ApiErrors.error(
                    Response.Status.BAD_REQUEST,
                    KEY_HEADER + " must be 1 to " + MAX_KEY_LENGTH + " printable ASCII characters");
        }
        return header;
    }

    /**
     * Runs {@code write} on the writer, without a key, in autocommit: each statement is a transaction
     * of its own (an unkeyed write makes one round trip). So {@code write} may change data in its first
     * statement only, as the routes' single inserts do: a statement after a committed one failing as
     * below would run the committed one again. A write without a key is run
     * again only when its failure proves that nothing was written: 25006 (read_only_sql_transaction),
     * a server that is a standby now on a connection made while it was the primary (a switchover
     * since), which PostgreSQL raises before the statement changes anything; or PgBouncer's refusal
     * to pass the transaction's first statement on while its logins to the server fail
     * ({@link SqlStates#isPoolerLoginFailing}: a demoted primary's PgBouncer while that server
     * restarts). The second run, on a connection whose borrow waits for a primary
     * ({@code writerDatabase.primaryWait}) on a pool that now checks each borrow, cannot write twice.
     * A failure that may come after the commit (a connection lost, the server shut down
     * mid-statement) is not run again: without a key, only the client may decide.
     */
    public Response write(HandleCallback<Answer, RuntimeException> write) {
        Answer answer =
                runAgainIf(write, e -> SqlStates.hasState(e, SqlStates.READ_ONLY) || SqlStates.isPoolerLoginFailing(e));
        return fresh(answer, answer.entity());
    }

    /**
     * A route's insert as a write with a key runs it, made once per route by {@link #keyedInsert}:
     * one statement that claims the key, inserts and stores the answer, timed as {@code name}.
     *
     * @param <T> the route's answer, read from the JSON the insert returns
     */
    public static final class KeyedInsert<T> {
        private final String name;
        private final String sql;
        private final Class<T> answer;
        private final int status;

        private KeyedInsert(String name, String sql, Class<T> answer, int status) {
            this.name = name;
            this.sql = sql;
            this.answer = answer;
            this.status = status;
        }
    }

    /** The parameters of a route's insert, from index {@code first} of the keyed statement on. */
    public interface Parameters {
        void bind(PreparedStatement statement, int first) throws SQLException;
    }

    /**
     * Makes a route's keyed write from its {@code insert}: an {@code INSERT ... SELECT ... FROM claimed}
     * ({@code claimed} has one row, and no columns, when the request holds its key and no answer is
     * stored) that returns two columns, the answer as JSON that reads as a {@code answer}, and its
     * Location (or null). Its parameters are bound by the {@link Parameters} given to each
     * {@link #write(long, String, String, Object, KeyedInsert, Parameters) write}. A successful
     * write answers {@code status}.
     */
    public <T> KeyedInsert<T> keyedInsert(String name, String insert, Class<T> answer, int status) {
        return new KeyedInsert<>(name, IdempotencyStatements.keyedWrite(insert), answer, status);
    }

    /**
     * Runs a write with an {@code Idempotency-Key}, in one statement, so one round trip to the writer:
     * the key taken (a 409 while another request holds it), the stored answer replayed if the
     * request's fingerprint matches (a 422 if not), else {@code insert} run and its answer stored,
     * committed together. A key belongs to the calling organisation {@code orgId} and the route
     * {@code scope}: the same key elsewhere is another key. The request's fingerprint is the SHA-256
     * of {@code request} as JSON, the body as the route parsed it (whitespace and key order do not
     * count; unknown fields are ignored, as the route ignores them). The answer, first or replayed,
     * is the stored JSON read as the route's answer type and written again, so both are the same
     * bytes, and the bytes the route's own serialisation gives. Empty when the insert wrote no row
     * (nothing is stored): the route says why. A failure of the insert (a unique violation, a
     * check) fails the whole statement, which stores nothing.
     */
    public Optional<Response> write(
            long orgId, String scope, String key, Object request, KeyedInsert<?> insert, Parameters parameters) {
        byte[] fingerprint = sha256(toJson(request).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        IdempotencyStatements.Keyed done;
        try {
            done = keyedWrite(orgId, scope, key, fingerprint, insert, parameters);
        } catch (UnableToExecuteStatementException e) {
            if (!SqlStates.hasState(e, UNIQUE_VIOLATION)) {
                throw e;
            }
            // The statement's snapshot is taken before its lock: a first request with the key that
            // committed in between is not seen, and its key (or its row, such as the same email) fails
            // this one's insert. Run again, that request is seen and replayed; a real conflict fails
            // the same way again, for the route to answer.
            try {
                done = keyedWrite(orgId, scope, key, fingerprint, insert, parameters);
            } catch (UnableToExecuteStatementException again) {
                if (SqlStates.isUniqueViolation(again, KEYS_PRIMARY_KEY)) {
                    throw new IllegalStateException("Idempotency-Key " + key + " raced twice", again);
                }
                throw again;
            }
        }
        if (!done.locked()) {
            throw inFlight(key);
        }
        if (done.earlier() != null) {
            return Optional.of(replay(done.earlier(), fingerprint, key, insert.answer));
        }
        if (done.body() == null) {
            return Optional.empty();
        }
        stored.mark();
        Response.ResponseBuilder response = Response.status(insert.status)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(render(done.body(), insert.answer));
        if (done.location() != null) {
            response.location(URI.create(done.location()));
        }
        return Optional.of(response.build());
    }

    /**
     * The keyed statement, run once more on another connection when it failed for want of the primary
     * (a switchover or failover since the connection was made: 25006 from a demoted primary, its
     * server gone under PgBouncer, 57P01). The key makes that retry safe whatever the first attempt
     * did: committed, the retry replays its answer; rolled back, the retry writes. The retry's borrow
     * waits for a primary ({@code writerDatabase.primaryWait}) on a pool that now checks each borrow,
     * so a write sent just before a switchover is answered instead of failing with a 503 its client must
     * retry. A borrow that already found no primary within the wait is not retried: it failed on no
     * connection and waited its share.
     */
    private IdempotencyStatements.Keyed keyedWrite(
            long orgId, String scope, String key, byte[] fingerprint, KeyedInsert<?> insert, Parameters parameters) {
        return runAgainIf(
                h -> statements.keyedWrite(
                        h, insert.name, insert.sql, orgId, scope, key, fingerprint, insert.status, parameters),
                SqlStates::isUnreachable);
    }

    /**
     * Runs {@code write} on the writer, and once more, counted in {@code retried}, when its statement
     * failed in a way {@code safeToRunAgain} accepts. A borrow that found no primary
     * ({@link ConnectionException}) is never run again: it ran nothing, and it has already waited for a
     * primary as long as {@code writerDatabase.primaryWait} allows.
     */
    private <T> T runAgainIf(HandleCallback<T, RuntimeException> write, Predicate<JdbiException> safeToRunAgain) {
        try {
            return writer.withHandle(write);
        } catch (JdbiException e) {
            if (e instanceof ConnectionException || !safeToRunAgain.test(e)) {
                throw e;
            }
            retried.mark();
            return writer.withHandle(write);
        }
    }

    /** A key's stored answer. */
    public record Stored(byte[] fingerprint, int status, String body, String location) {}

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
            if (statements.store(
                            handle,
                            orgId,
                            scope,
                            key,
                            fingerprint,
                            status,
                            body,
                            location == null ? null : location.toString())
                    == 0) {
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
            throw inFlight(key);
        }
        Optional<Stored> earlier = found.fingerprint() != null && Boolean.TRUE.equals(found.live())
                ? Optional.of(new Stored(found.fingerprint(), found.status(), found.body(), found.location()))
                : Optional.empty();
        return new Claim(h, orgId, scope, key, earlier);
    }

    /** The stored answer again, marked as a replay; a 422 if the request differs from the first. */
    public Response replay(Stored earlier, byte[] fingerprint, String key) {
        return replay(earlier, fingerprint, key, null);
    }

    /**
     * As {@link #replay(Stored, byte[], String)}; the stored body read as {@code answer} and written
     * again (as the first answer was), or sent as stored when {@code answer} is null.
     */
    private Response replay(Stored earlier, byte[] fingerprint, String key, Class<?> answer) {
        if (!MessageDigest.isEqual(earlier.fingerprint(), fingerprint)) {
            mismatched.mark();
            throw mismatch(key);
        }
        replayed.mark();
        Response.ResponseBuilder response = Response.status(earlier.status())
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(answer == null ? earlier.body() : render(earlier.body(), answer))
                .header(REPLAYED_HEADER, "true");
        if (earlier.location() != null) {
            response.location(URI.create(earlier.location()));
        }
        return response.build();
    }

    /** The answer of a write without a key: {@code entity} as JSON. */
    public Response fresh(Answer answer, Object entity) {
        Response.ResponseBuilder response = Response.status(answer.status())
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(entity);
        if (answer.location() != null) {
            response.location(answer.location());
        }
        return response.build();
    }

    /**
     * A stored answer as the client gets it: read as {@code type} and written as the route writes
     * its answers. The JSON PostgreSQL builds ({@code {"id" : 1, ...}}) and the JSON an earlier
     * version stored ({@code {"id":1,...}}) both give the route's own bytes.
     */
    private String render(String body, Class<?> type) {
        try {
            return json.writeValueAsString(json.readValue(body, type));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a stored answer does not read as " + type.getName(), e);
        }
    }

    public String toJson(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(
                    "not serialisable as JSON: " + value.getClass().getName(), e);
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

    private WebApplicationException inFlight(String key) {
        inFlight.mark();
        return ApiErrors.error(
                Response.Status.CONFLICT,
                KEY_HEADER + " " + key + " is in use by a request still running; retry once it has answered");
    }

    private static WebApplicationException mismatch(String key) {
        return ApiErrors.error(422, KEY_HEADER + " " + key + " was already used with a different request body");
    }
}
