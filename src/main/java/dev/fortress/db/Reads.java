package dev.fortress.db;

import com.codahale.metrics.Meter;
import java.util.List;
import java.util.function.Function;

/**
 * One SQL object on every replica and on the writer, and a read run where {@link ReplicaSet#choose}
 * says. A read the chosen replica cannot serve because it has just gone away runs again on the
 * writer: replicas are optional, so losing one must not fail the requests under way before its
 * monitor notices (from then on reads avoid it).
 */
public final class Reads<T> {

    private final List<T> onReplicas;
    private final T onWriter;
    private final ReplicaSet replicas;
    private final Meter onWriterMeter;

    public Reads(List<T> onReplicas, T onWriter, ReplicaSet replicas, Meter onWriterMeter) {
        if (onReplicas.size() != replicas.size()) {
            throw new IllegalArgumentException(onReplicas.size() + " DAOs for " + replicas.size() + " replicas");
        }
        this.onReplicas = List.copyOf(onReplicas);
        this.onWriter = onWriter;
        this.replicas = replicas;
        this.onWriterMeter = onWriterMeter;
    }

    /** One replica and the writer (tests of a single DAO). */
    public Reads(T onReader, T onWriter, ReplicaMonitor monitor, Meter onWriterMeter) {
        this(List.of(onReader), onWriter, ReplicaSet.of("reader", null, null, monitor), onWriterMeter);
    }

    /**
     * Runs {@code query} where {@link ReplicaSet#choose} sends a request with this (possibly
     * absent or malformed) {@code X-Consistency-Token} header. When that is a replica and it is
     * unreachable (stopped, restarting, refusing connections; not merely saturated, which the
     * writer must not absorb), the query runs again on the writer. Reads are safe to run twice.
     */
    public <R> R read(String header, Function<T, R> query) {
        return read(header, query, true);
    }

    /**
     * A read of the service's own, in the background (not a request's): routed as {@link #read}
     * routes a read without a token, but left out of the per-replica and writer read counts, which
     * count requests' reads, as the lag monitors' reads are.
     */
    public <R> R readInBackground(Function<T, R> query) {
        return read(null, query, false);
    }

    /**
     * A read of the service's own that must see every commit up to {@code token} (a position read
     * after them, see {@link WriterPosition#afterCommit}): on a replica that has replayed past it, else
     * on the writer ({@link ReplicaSet#choosePast}, which may ask a replica how far it is); counted as
     * {@link #read} counts.
     */
    public <R> R readPast(ConsistencyToken token, Function<T, R> query) {
        return read(replicas.choosePast(token), query, true);
    }

    private <R> R read(String header, Function<T, R> query, boolean counted) {
        return read(replicas.choose(header), query, counted);
    }

    private <R> R read(int k, Function<T, R> query, boolean counted) {
        if (k < 0) {
            if (counted) {
                onWriterMeter.mark();
            }
            return query.apply(onWriter);
        }
        ReplicaSet.Member replica = replicas.member(k);
        if (counted) {
            replica.reads().mark();
        }
        try {
            return query.apply(onReplicas.get(k));
        } catch (RuntimeException e) {
            if (!SqlStates.isUnreachable(e)) {
                throw e;
            }
            replica.monitor().readerFailed(e);
            if (counted) {
                onWriterMeter.mark();
            }
            return query.apply(onWriter);
        }
    }
}
