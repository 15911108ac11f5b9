package dev.fortress.orgs;

import dev.fortress.db.ConsistencyToken;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * The writer's WAL positions stored beside the stats cache's versions, so that an entry cached under
 * a generation counts every write that moved it, whichever replica a miss reads.
 * <p>
 * A write commits, reads the writer's position (past its commit), then, in one pipeline, raises the
 * org's stored position to it and moves the org's generation, in this order. Redis runs one
 * connection's commands in order, and a position only ever goes up, so once a generation is seen
 * the stored position is past every write it counts, concurrent writes included (a write that read a
 * lower position and stores it later does not lower it). A miss reads the versions, then the
 * positions (the same or a later value, never a lower one), and aggregates where the larger of the
 * org's and the epoch's has been replayed. A position that should be stored and is not takes the
 * writer's position at the miss, which is past every write there has been, and is stored for the
 * next miss: the org's, when its generation has moved (a version of Fortress before this one moved
 * it, or Redis evicted the position); the epoch's, whenever it is missing, since Redis may have lost
 * its data (restarted without persistence) and with it the generations and positions of writes made
 * just before, which a lagging replica may not have replayed.
 */
final class Positions {

    /** The epoch's position: past every write whose invalidation an epoch bump stands for. */
    static final String EPOCH_KEY = "fortress:v1:org-stats-epoch-pos";

    /**
     * Sets KEYS[1] to ARGV[1] unless it holds a larger position, then gives it ARGV[2] seconds to live
     * (0: for ever). Positions are 16 hex digits, compared as two halves of 8 (each exact in Lua's
     * doubles, where a whole 64-bit LSN is not; and no text comparison, which follows Redis's locale);
     * anything else stored there is replaced.
     */
    private static final String RAISE = """
            local stored = redis.call('GET', KEYS[1])
            local function half(s, from) return tonumber(string.sub(s, from, from + 7), 16) end
            local keep = stored and string.len(stored) == 16 and string.find(stored, '^%x+$') ~= nil
            if keep then
              local high, new = half(stored, 1), half(ARGV[1], 1)
              keep = high > new or (high == new and half(stored, 9) >= half(ARGV[1], 9))
            end
            if not keep then
              redis.call('SET', KEYS[1], ARGV[1])
            end
            if tonumber(ARGV[2]) > 0 then
              redis.call('EXPIRE', KEYS[1], ARGV[2])
            end
            return 1
            """;

    private Positions() {}

    /** The org's position, beside its generation (same hash tag, so the same slot in a cluster). */
    static String key(long orgId) {
        return "fortress:v1:org-stats-pos:{" + orgId + "}";
    }

    static String format(ConsistencyToken position) {
        return String.format("%016X", position.position());
    }

    /** A stored position, or null when there is none or it is not one. */
    static ConsistencyToken parse(String stored) {
        if (stored == null || stored.length() != 16) {
            return null;
        }
        try {
            return new ConsistencyToken(Long.parseUnsignedLong(stored, 16));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Raises {@code key} to {@code position} (see {@link #RAISE}); the response fails if Redis refused it. */
    static Response<Object> raise(Pipeline pipeline, String key, String position, long ttlSeconds) {
        return pipeline.eval(RAISE, List.of(key), List.of(position, Long.toString(ttlSeconds)));
    }

    /**
     * Where a miss must aggregate: past {@code position} (null: anywhere a read without a token may go),
     * and which keys to raise to it because they had no position though their version needs one.
     */
    record Past(ConsistencyToken position, boolean healEpoch, boolean healOrg) {}

    /**
     * The position a miss under the org's {@code generation} must aggregate past.
     *
     * @param stored the epoch's and the org's stored positions, read after the versions; null when
     *               Redis did not answer (then the writer's position is taken)
     * @param writer the writer's position now; throws when the writer cannot be asked
     */
    static Past past(long generation, List<String> stored, Supplier<ConsistencyToken> writer) {
        if (stored == null) {
            return new Past(writer.get(), false, false);
        }
        ConsistencyToken ofEpoch = parse(stored.get(0));
        ConsistencyToken ofOrg = parse(stored.get(1));
        boolean healEpoch = ofEpoch == null;
        boolean healOrg = generation != 0 && ofOrg == null;
        if (healEpoch || healOrg) {
            return new Past(writer.get(), healEpoch, healOrg);
        }
        ConsistencyToken past = max(ofEpoch, ofOrg);
        return new Past(past, false, false);
    }

    private static ConsistencyToken max(ConsistencyToken a, ConsistencyToken b) {
        if (a == null || b == null) {
            return a == null ? b : a;
        }
        return Long.compareUnsigned(a.position(), b.position()) >= 0 ? a : b;
    }

    /**
     * The positions of the invalidations a pending epoch bump stands for: the largest of those the
     * writer gave, and whether one had none (the writer did not answer after its commit), in which
     * case the bump takes the writer's position when it runs. An invalidation records here before it
     * marks the bump pending, and the bump clears the mark before it takes the position, so a position
     * is either in this bump or marks another.
     */
    static final class Pending {
        private final AtomicLong largest = new AtomicLong();
        private final AtomicBoolean unknown = new AtomicBoolean();

        void add(ConsistencyToken position) {
            largest.accumulateAndGet(position.position(), (a, b) -> Long.compareUnsigned(a, b) >= 0 ? a : b);
        }

        void unknown() {
            unknown.set(true);
        }

        /** Whether taking the position asks the writer. */
        boolean needsWriter() {
            return unknown.get();
        }

        /** The position the bump stores; throws, still pending, when the writer must be asked and cannot be. */
        ConsistencyToken take(Supplier<ConsistencyToken> writer) {
            if (unknown.getAndSet(false)) {
                try {
                    add(writer.get()); // after every commit whose position is unknown: past them
                } catch (RuntimeException e) {
                    unknown.set(true);
                    throw e;
                }
            }
            return new ConsistencyToken(largest.get());
        }
    }
}
