package dev.fortress.db;

import com.codahale.metrics.Meter;
import java.util.Optional;

/**
 * One SQL object twice, on the reader and on the writer, and the one rule that picks between
 * them for a read: the reader unless it lags or is down ({@link ReplicaMonitor}), or unless the
 * request carries a consistency token the reader has not replayed yet.
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
