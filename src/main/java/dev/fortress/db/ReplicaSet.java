package dev.fortress.db;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.apache.tomcat.jdbc.pool.DataSourceProxy;
import org.jdbi.v3.core.Jdbi;

/**
 * The streaming replicas reads may use, each with its own pool and {@link ReplicaMonitor}, and
 * the one rule that picks a replica for a read: among those that are usable (reachable, within
 * the lag bounds; with a consistency token, replayed past it), the next in round robin whose
 * pool has a free connection, else the next usable one (a saturated replica makes a read wait or
 * fail fast, it does not push it onto the writer); none usable: the writer. A replica that failed
 * is retried by its monitor, never by requests. A token no replica has replayed is checked against
 * the writer's position ({@link WriterPosition}): one ahead of the writer is refused (400).
 */
public final class ReplicaSet {

    /**
     * One replica.
     *
     * @param name    {@code host:port}, the {@code replica} label of its metrics
     * @param pool    its pool's name ({@code reader}, or {@code reader-<n>} when there are several)
     * @param pooled  its pool, to see whether a connection is free (null: never saturated)
     * @param maxSize its pool's size
     */
    public record Member(
            String name,
            String pool,
            Jdbi jdbi,
            DataSource dataSource,
            DataSourceProxy pooled,
            int maxSize,
            ReplicaMonitor monitor,
            Meter reads) {

        boolean saturated() {
            return pooled != null && pooled.getPool() != null && pooled.getActive() >= maxSize;
        }
    }

    private final List<Member> members;
    private final WriterPosition writer;
    private final AtomicInteger next = new AtomicInteger();

    public ReplicaSet(List<Member> members, WriterPosition writer) {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("no replica: readerDatabase.url names none");
        }
        this.members = List.copyOf(members);
        this.writer = writer;
    }

    /** One replica that is never saturated, for tests of a single DAO. */
    public static ReplicaSet of(String name, Jdbi jdbi, DataSource dataSource, ReplicaMonitor monitor) {
        return new ReplicaSet(
                List.of(new Member(name, Databases.READER, jdbi, dataSource, null, 0, monitor, new Meter())),
                new WriterPosition(null, new Meter()));
    }

    /** {@code dev.fortress.db.replicas.usable}: how many replicas reads without a token may use now. */
    void register(MetricRegistry metrics) {
        metrics.register("dev.fortress.db.replicas.usable", (Gauge<Long>) this::usable);
    }

    /** The writer's position as this instance knows it, shared with the replicas' monitors. */
    public WriterPosition writerPosition() {
        return writer;
    }

    public List<Member> members() {
        return members;
    }

    public Member member(int index) {
        return members.get(index);
    }

    public int size() {
        return members.size();
    }

    public long usable() {
        return members.stream().filter(m -> m.monitor().usable()).count();
    }

    /**
     * The replica a read with this {@code X-Consistency-Token} header (possibly absent or malformed)
     * goes to, as an index into {@link #members()}, or -1 for the writer. A malformed token goes to
     * the writer: it cannot be honoured anywhere else. A token that neither a replica nor the writer
     * has reached is refused: a {@code WebApplicationException} answering 400.
     */
    public int choose(String header) {
        Optional<ConsistencyToken> token = Optional.empty();
        if (header != null) {
            token = ConsistencyToken.fromHeader(header);
            if (token.isEmpty()) {
                return -1;
            }
        }
        return choose(token, true);
    }

    /**
     * As {@link #choose(String)}, for a read of the service's own that must see every commit up to
     * {@code token}. When no monitor has yet seen a replica replay that far (they look once a
     * {@code replica.checkInterval}, and a replica usually replays a commit within milliseconds), the
     * replica a read without a token would use is asked (one round trip); the read goes to the writer
     * only if it has not replayed past the token either, or cannot be reached. Never refused: the
     * writer has seen every commit there is, whatever position the token says (one stored before the
     * database was replaced, say).
     */
    public int choosePast(ConsistencyToken token) {
        int sampled = choose(Optional.of(token), false);
        if (sampled >= 0) {
            return sampled;
        }
        int k = choose(Optional.empty(), false);
        if (k < 0 || members.get(k).jdbi() == null) {
            return -1;
        }
        Member member = members.get(k);
        try {
            // Replay only moves forward, so a statement run there after this answer sees every commit up to token.
            return member.jdbi().withExtension(ConsistencyTokenDao.class, dao -> dao.replayedPast(token.toString()))
                    ? k
                    : -1;
        } catch (RuntimeException e) {
            if (!SqlStates.isUnreachable(e)) {
                throw e;
            }
            member.monitor().readerFailed(e);
            return -1;
        }
    }

    private int choose(Optional<ConsistencyToken> token, boolean refuseAhead) {
        int n = members.size();
        int start = n == 1 ? 0 : Math.floorMod(next.getAndIncrement(), n);
        int busy = -1;
        for (int i = 0; i < n; i++) {
            int k = start + i < n ? start + i : start + i - n;
            Member member = members.get(k);
            boolean fits = token.isPresent()
                    ? member.monitor().replayedPast(token.get())
                    : member.monitor().usable();
            if (!fits) {
                continue;
            }
            if (n == 1 || !member.saturated()) {
                return k;
            }
            if (busy < 0) {
                busy = k;
            }
        }
        if (busy < 0 && token.isPresent() && refuseAhead) {
            writer.check(token.get()); // to the writer, unless not even the writer has reached it
        }
        return busy;
    }
}
