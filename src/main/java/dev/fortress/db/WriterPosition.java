package dev.fortress.db;

import com.codahale.metrics.Meter;
import io.dropwizard.jersey.errors.ErrorMessage;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Jdbi;

/**
 * The writer's WAL position as far as this instance knows it, to refuse a consistency token that
 * no server has reached: without this, a token ahead of every replica ({@code FFFFFFFF/FFFFFFFF})
 * sent each read of its client to the writer's small pool, for ever. Kept cheap: the replica
 * monitors sample the writer's position at each check and every token this instance issues is one,
 * so a token is compared with a number in memory; only one beyond it asks the writer (a token from
 * another instance's write may be newer than this instance's last sample), and only one still
 * beyond the answer is refused.
 */
public final class WriterPosition {

    private final Jdbi writer;
    private final Meter refused;
    /** Compared unsigned, as LSNs are: FFFFFFFF/FFFFFFFF is the largest, not -1. */
    private final AtomicLong known = new AtomicLong();
    /**
     * In a request that issues a consistency token, between its request and response filters: the
     * position {@link #afterCommit} read, for the token to reuse. Absent elsewhere (jobs, other routes).
     */
    private final ThreadLocal<Read> request = new ThreadLocal<>();

    /** What {@link #afterCommit} read during one request; null until it does. */
    private static final class Read {
        private ConsistencyToken position;
    }

    /**
     * @param writer  asked for its position when a token is beyond the last one known; null: never
     *                asked and no token refused (tests of a single DAO)
     * @param refused {@code dev.fortress.db.consistency-tokens.refused}
     */
    public WriterPosition(Jdbi writer, Meter refused) {
        this.writer = writer;
        this.refused = refused;
    }

    /** A position the writer has reached (a sample, or a token just issued). */
    public void observe(long position) {
        known.accumulateAndGet(position, (a, b) -> Long.compareUnsigned(a, b) >= 0 ? a : b);
    }

    /**
     * Reads the writer's position now (one round trip): past every transaction this thread has
     * committed, for code that must tag what a write changed with it before the request answers (the
     * org stats cache). In a request that issues a consistency token, call it after the request's last
     * commit: the token is then this position, not read a second time, so the write makes no extra
     * round trip. Throws as the writer does when it cannot be asked.
     */
    public ConsistencyToken afterCommit() {
        if (writer == null) {
            throw new IllegalStateException("no writer to ask for its position");
        }
        ConsistencyToken now = ConsistencyToken.parse(
                writer.withExtension(ConsistencyTokenDao.class, ConsistencyTokenDao::writerPosition));
        observe(now.position());
        Read read = request.get();
        if (read != null) {
            read.position = now;
        }
        return now;
    }

    /** A request that issues a token starts on this thread ({@link ConsistencyTokenFeature}). */
    void requestStarted() {
        request.set(new Read());
    }

    /** It ends: what {@link #afterCommit} read during it, or null. */
    ConsistencyToken requestEnded() {
        Read read = request.get();
        request.remove();
        return read == null ? null : read.position;
    }

    /** The last position known, 0 before the first. */
    public long known() {
        return known.get();
    }

    /**
     * Returns when the writer has reached {@code token}; otherwise throws a 400 in the API's error
     * shape. Asks the writer only when the token is beyond the last position known.
     */
    public void check(ConsistencyToken token) {
        if (writer == null || Long.compareUnsigned(token.position(), known.get()) <= 0) {
            return;
        }
        String now = writer.withExtension(ConsistencyTokenDao.class, ConsistencyTokenDao::writerPosition);
        observe(ConsistencyToken.parse(now).position());
        if (Long.compareUnsigned(token.position(), known.get()) > 0) {
            refused.mark();
            String message = ConsistencyTokenFeature.HEADER + " " + token + " is ahead of the writer (" + now
                    + "): send back a token a write of this service returned";
            throw new WebApplicationException(
                    message,
                    Response.status(Response.Status.BAD_REQUEST)
                            .type(MediaType.APPLICATION_JSON_TYPE)
                            .entity(new ErrorMessage(400, message))
                            .build());
        }
    }
}
