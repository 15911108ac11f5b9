package dev.fortress.db;

import com.codahale.metrics.Meter;
import java.util.Optional;
import java.util.function.Function;

/**
 * One SQL object twice, on the reader and on the writer, and the one rule that picks between
 * them for a read: the reader unless it lags or is down ({@link ReplicaMonitor}), or unless the
 * request carries a consistency token the reader has not replayed yet. A read the reader cannot
 * serve because it has just gone away runs again on the writer: the replica is optional, so
 * losing it must not fail the requests under way before the monitor notices.
 */
public final class Reads<T> {

    private final T onReader;
    private final T onWriter;
    private final ReplicaMonitor monitor;
    private final Meter onWriterMeter;

    public Reads(T onReader, T onWriter, ReplicaMonitor monitor, Meter onWriterMeter) {
        this.onReader = onReader;
        this.onWriter = onWriter;
        this.monitor = monitor;
        this.onWriterMeter = onWriterMeter;
    }

    /**
     * Runs {@code query} on the datasource {@link #forToken} picks. When that is the reader and it
     * is unreachable (stopped, restarting, refusing connections; not merely saturated, which the
     * writer must not absorb), the query runs again on the writer, and reads stay there until the
     * monitor's next check finds the reader back. Reads are safe to run twice.
     */
    public <R> R read(String header, Function<T, R> query) {
        T dao = forToken(header);
        if (dao != onReader) {
            return query.apply(dao);
        }
        try {
            return query.apply(onReader);
        } catch (RuntimeException e) {
            if (!SqlStates.isUnreachable(e)) {
                throw e;
            }
            monitor.readerFailed(e);
            onWriterMeter.mark();
            return query.apply(onWriter);
        }
    }

    /** For a request with this (possibly absent or malformed) {@code X-Consistency-Token} header. */
    public T forToken(String header) {
        Optional<ConsistencyToken> token = ConsistencyToken.fromHeader(header);
        boolean replica = header == null ? monitor.usable() : token.isPresent() && monitor.replayedPast(token.get());
        if (replica) {
            return onReader;
        }
        onWriterMeter.mark();
        return onWriter;
    }
}
