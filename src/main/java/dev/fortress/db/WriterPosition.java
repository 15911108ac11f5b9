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
            throw new WebApplicationException(message, Response.status(Response.Status.BAD_REQUEST)
                    .type(MediaType.APPLICATION_JSON_TYPE).entity(new ErrorMessage(400, message)).build());
        }
    }
}
