package dev.fortress.orgs;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.RatioGauge;
import com.codahale.metrics.Timer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fortress.cache.NearCache;
import dev.fortress.cache.Redis;
import dev.fortress.cache.SingleFlight;
import dev.fortress.db.ConsistencyToken;
import dev.fortress.db.Reads;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * Read-aside cache of org statistics in Redis, in one place.
 *
 * <ul>
 *   <li>Read: one {@code MGET} of the global epoch, the org's generation and its entry; the entry
 *       counts only if it was written under the current epoch and generation.</li>
 *   <li>Miss: one aggregation per org and version in this instance (single-flight), then a
 *       pipelined {@code SETEX} of the entry, tagged with the versions read <em>before</em> the
 *       aggregation ran; none for an org with no users (nothing to save, and no key per id sent).</li>
 *   <li>Invalidate (after a write commits): {@code INCR} the org's generation. This closes the
 *       read-then-stale-write race: a miss that read the database before the write and stores
 *       its result after the invalidation stores it under the old generation, which no reader
 *       accepts any more. Were the entry simply deleted, that late write would be served until
 *       the TTL ran out.</li>
 *   <li>The invalidation first raises the org's stored WAL position to the writer's, read after the
 *       commit, in the same pipeline, so every generation comes with a position past every write it
 *       counts; a miss aggregates only where that position has been replayed (a replica, else the
 *       writer). A replica that has not replayed the write can therefore never put the old figures
 *       under the new generation. See {@link Positions}.</li>
 *   <li>An invalidation that Redis did not take (it was down), or whose position the writer did not
 *       give, bumps the global epoch as soon as Redis answers again, dropping every entry, since any
 *       of them may be stale; the epoch gets a position too. So does a new Redis master (a Sentinel
 *       failover): it may lack the last invalidations the old one took. When Redis may lack an
 *       invalidation (not the position alone), no entry is served (lookups go to the database) until
 *       that bump is done, and a lookup counts only the bumps done before it read Redis.</li>
 *   <li>Hot entries are refreshed shortly before they expire by one request, chosen by chance
 *       ("XFetch": the likelier the closer to expiry and the slower the aggregation), in the
 *       background, while everyone is still served the cached entry.</li>
 *   <li>Redis down, slow or answering garbage: the request is served from the database
 *       ({@link Redis} fails open behind a circuit breaker).</li>
 *   <li>In front of all this, each API instance keeps what it served in a {@link NearCache} for a few
 *       seconds, so a repeated read costs no Redis round trip. Every invalidation above is also
 *       published on {@link #channel} in the same pipeline, and every instance's subscription drops
 *       the entry; the near-cache is used only while that subscription is trusted. A fill stores its
 *       answer only if no invalidation of the org came since before it read Redis.</li>
 * </ul>
 */
public final class OrgStatsCache {

    private static final Logger LOG = LoggerFactory.getLogger(OrgStatsCache.class);
    static final String EPOCH_KEY = "fortress:v1:org-stats-epoch";

    /** A stats answer and whether it came from the cache. */
    public record Lookup(OrgStats stats, boolean hit) {}

    /** What is stored: the stats, the versions they were read under, and what XFetch needs. */
    record Entry(long epoch, long generation, long users, Double avgAge, long computeMillis, long expiresAtMillis) {}

    /** A miss's answer, and whether it may be kept in the near-cache (not when its position was unknown). */
    private record Fill(OrgStats stats, boolean keep) {}

    private final Reads<OrgStatsDao> dao;
    /** The application's: an entry is read and written as the API's JSON is. */
    private final ObjectMapper json;
    /** The writer's position now: past every commit made so far (one round trip to the writer). */
    private final Supplier<ConsistencyToken> writerPosition;

    private final Redis redis;
    private final NearCache<Long, OrgStats> near;
    private final String channel;
    private final long ttlSeconds;
    private final double beta;
    private final SingleFlight<String, Fill> flights = new SingleFlight<>();
    private final AtomicBoolean epochBumpPending = new AtomicBoolean();
    /**
     * Invalidations Redis may lack (a master change, an invalidation it did not take), and how many of
     * them an epoch bump has covered: entries are not served in between.
     */
    private final AtomicLong gaps = new AtomicLong();

    private final AtomicLong bumpedThrough = new AtomicLong();
    /** The positions of the invalidations the pending epoch bump stands for (see {@link #bumpEpochIfPending}). */
    private final Positions.Pending pendingPosition = new Positions.Pending();
    /** Runs early refreshes; bounded, and drops a refresh it has no room for (the entry is still served). */
    private final Executor refresher;

    private final Meter hits;
    private final Meter misses;
    private final Meter errors;
    private final Meter earlyRefreshes;
    private final Timer aggregation;

    OrgStatsCache(
            Reads<OrgStatsDao> dao,
            Supplier<ConsistencyToken> writerPosition,
            Redis redis,
            NearCache<Long, OrgStats> near,
            OrgsConfiguration config,
            Executor refresher,
            ObjectMapper json,
            MetricRegistry metrics) {
        this.dao = dao;
        this.json = json;
        this.writerPosition = writerPosition;
        this.redis = redis;
        this.near = near;
        this.channel = channel(redis.database());
        this.refresher = refresher;
        this.ttlSeconds = config.getStatsTtl().toSeconds();
        this.beta = config.getEarlyRefreshBeta();
        String prefix = "dev.fortress.orgs.stats";
        hits = metrics.meter(MetricRegistry.name(prefix, "cache", "hits"));
        misses = metrics.meter(MetricRegistry.name(prefix, "cache", "misses"));
        errors = metrics.meter(MetricRegistry.name(prefix, "cache", "errors"));
        earlyRefreshes = metrics.meter(MetricRegistry.name(prefix, "cache", "early-refreshes"));
        aggregation = metrics.timer(MetricRegistry.name(prefix, "aggregation"));
        metrics.register(MetricRegistry.name(prefix, "cache", "hit-ratio"), new RatioGauge() {
            @Override
            protected Ratio getRatio() {
                return Ratio.of(hits.getCount(), hits.getCount() + misses.getCount());
            }
        });
    }

    static String entryKey(long orgId) {
        return "fortress:v1:org-stats:{" + orgId + "}";
    }

    static String generationKey(long orgId) {
        return "fortress:v1:org-stats-gen:{" + orgId + "}";
    }

    /**
     * Where invalidations are published: an org id, or {@link NearCache#EVERYTHING}. Per Redis database,
     * as the keys are (pub/sub channels are not), so deployments on two databases do not drop each
     * other's entries.
     */
    static String channel(int database) {
        return "fortress:v1:org-stats-invalidated:db" + database;
    }

    public Lookup get(long orgId) {
        bumpEpochIfPending(false);
        OrgStats local = near.get(orgId);
        if (local != null) {
            hits.mark();
            return new Lookup(local, true);
        }
        NearCache.Ticket ticket = near.ticket(orgId); // before Redis is read: see NearCache
        // The bumps done before the read was sent: a bump that ends while the read is in flight may
        // have come after it, which then still holds the old epoch and the stale entries it dropped.
        long bumped = bumpedThrough.get();
        List<String> read = read(orgId);
        if (read == null || bumped < gaps.get()) { // gaps counted after the read: see masterChanged
            misses.mark();
            Fill unversioned = flights.get(orgId + ":unversioned", () -> new Fill(aggregate(orgId, null), false));
            return new Lookup(unversioned.stats(), false);
        }
        long epoch = version(read.get(0));
        long generation = version(read.get(1));
        Entry entry = current(read, true);
        if (entry != null) {
            hits.mark();
            if (shouldRefreshEarly(entry)) {
                String flight = orgId + ":" + epoch + ":" + generation;
                if (!flights.running(flight)) {
                    earlyRefreshes.mark();
                    refresher.execute(() -> flights.get(flight, () -> load(orgId, epoch, generation)));
                }
            }
            OrgStats stats = new OrgStats(orgId, entry.users(), entry.avgAge());
            near.put(
                    orgId,
                    ticket,
                    stats,
                    TimeUnit.MILLISECONDS.toNanos(entry.expiresAtMillis() - System.currentTimeMillis()));
            return new Lookup(stats, true);
        }
        misses.mark();
        // Keyed by version too: a request that saw a newer generation never joins an older read.
        Fill fill = flights.get(orgId + ":" + epoch + ":" + generation, () -> load(orgId, epoch, generation));
        if (fill.keep() && fill.stats().users() > 0) { // as in Redis, none for an org without users
            near.put(orgId, ticket, fill.stats(), TimeUnit.SECONDS.toNanos(ttlSeconds));
        }
        return new Lookup(fill.stats(), false);
    }

    private List<String> read(long orgId) {
        return redis.call("get", j -> j.mget(EPOCH_KEY, generationKey(orgId), entryKey(orgId)))
                .orElse(null);
    }

    /** The entry of an MGET answer if it was written under the versions read with it. */
    private Entry current(List<String> read, boolean count) {
        Entry entry = parse(read.get(2), count);
        return entry != null && entry.epoch() == version(read.get(0)) && entry.generation() == version(read.get(1))
                ? entry
                : null;
    }

    /**
     * Call after a write that changed these orgs' users has committed (its last commit: in a request,
     * the position read here is also the request's consistency token). One pipeline: per org, the
     * org's position raised to the writer's, then its generation moved, in this order (see
     * {@link Positions}). This instance's near-cache entries are dropped after Redis's generations have
     * moved, so a request here that reads Redis in between either sees the new generation or has its
     * fill refused.
     */
    public void invalidate(Collection<Long> orgIds) {
        if (orgIds.isEmpty()) {
            return;
        }
        ConsistencyToken position;
        try {
            position = writerPosition.get(); // after the commit: past it
        } catch (RuntimeException e) {
            position = null; // the generations still move; the epoch bump below brings a position
            pendingPosition.unknown();
            LOG.warn(
                    "orgs {}: the writer gave no position after their write ({}): every cached org stat is "
                            + "dropped as soon as it does",
                    orgIds,
                    e.getMessage());
        }
        String stored = position == null ? null : Positions.format(position);
        boolean taken = redis.call("invalidate", j -> {
                    Pipeline p = j.pipelined();
                    List<Response<Object>> raised = new ArrayList<>();
                    for (long orgId : orgIds) {
                        if (stored != null) {
                            raised.add(Positions.raise(p, Positions.key(orgId), stored, 2 * ttlSeconds));
                        }
                        p.incr(generationKey(orgId));
                        p.expire(generationKey(orgId), 2 * ttlSeconds); // outlives every entry written under it
                        p.publish(channel, Long.toString(orgId)); // every instance's near-cache; same round trip
                    }
                    p.sync();
                    raised.forEach(Response::get); // a script Redis refused is an invalidation not taken
                    return true;
                })
                .isPresent();
        orgIds.forEach(near::invalidate);
        if (taken && position != null) {
            return;
        }
        if (position != null) {
            pendingPosition.add(position); // before the bump is marked pending: see Positions.Pending
        }
        if (!taken) {
            // Its entries may be stale and current. Taken without a position, they are not (the
            // generations moved): lookups still use Redis until the bump, as during a writer outage.
            gaps.incrementAndGet(); // after the position, before the mark: as masterChanged
        }
        if (epochBumpPending.compareAndSet(false, true) && !taken) {
            LOG.warn(
                    "orgs {} stats invalidation not taken by redis: every cached org stat is dropped "
                            + "as soon as redis answers again",
                    orgIds);
        }
    }

    /**
     * Redis calls reach a new master (a Sentinel failover; {@link Redis#onMasterChange}). Replication is
     * asynchronous, so the generations the old master moved last, with their positions, may be missing
     * from the new one, whose entries are then stale and current: every entry is dropped, as after an
     * invalidation Redis did not take, with the writer's position (past every write whose invalidation
     * may be lost). Runs before any call of this instance reads the new master, so a lookup that read
     * it sees the change, and serves from the database until the bump is done (the next heartbeat,
     * since it asks the writer).
     */
    void masterChanged() {
        pendingPosition.unknown(); // before the bump is marked pending: see Positions.Pending
        gaps.incrementAndGet(); // before too: the bump that clears the mark covers this change
        epochBumpPending.set(true);
        LOG.warn("redis master changed: every cached org stat is dropped once the writer gives its position");
    }

    /**
     * After an invalidation Redis did not take, or whose position the writer did not give: every entry
     * is dropped, in Redis and in every instance's near-cache, and the epoch's position raised past
     * those invalidations' writes, as an org's is. Runs before each lookup and every heartbeat (an
     * instance that only writes, such as a worker finishing imports, serves no lookup). A bump that must
     * ask the writer for its position runs on the heartbeat only ({@code mayAskWriter}), so lookups
     * do not wait for a writer that may be down.
     */
    void bumpEpochIfPending(boolean mayAskWriter) {
        if (!epochBumpPending.get() || (!mayAskWriter && pendingPosition.needsWriter())) {
            return;
        }
        // Cleared before the bump, so an invalidation that fails while it runs is bumped for again.
        if (!epochBumpPending.getAndSet(false)) {
            return;
        }
        long covers = gaps.get();
        ConsistencyToken position;
        try {
            position = pendingPosition.take(writerPosition);
        } catch (RuntimeException writerDown) {
            epochBumpPending.set(true);
            return;
        }
        String stored = Positions.format(position);
        boolean bumped = redis.call("epoch", j -> {
                    Pipeline p = j.pipelined();
                    Response<Object> raised = Positions.raise(p, Positions.EPOCH_KEY, stored, 0);
                    p.incr(EPOCH_KEY);
                    p.publish(channel, NearCache.EVERYTHING);
                    p.sync();
                    raised.get();
                    return true;
                })
                .isPresent();
        if (bumped) {
            bumpedThrough.accumulateAndGet(covers, Math::max);
            LOG.info("org stats cache epoch bumped after missed invalidations");
        } else {
            pendingPosition.add(position);
            epochBumpPending.set(true);
        }
    }

    private Fill load(long orgId, long epoch, long generation) {
        // A leader that came just after the previous one finished finds its entry: no second aggregation.
        // The same MGET reads the positions the aggregation must have seen, read after the versions were.
        List<String> again = redis.call(
                        "get",
                        j -> j.mget(
                                EPOCH_KEY,
                                generationKey(orgId),
                                entryKey(orgId),
                                Positions.EPOCH_KEY,
                                Positions.key(orgId)))
                .orElse(null);
        Entry fresh = again == null ? null : current(again, false);
        if (fresh != null
                && fresh.epoch() == epoch
                && fresh.generation() == generation
                && fresh.expiresAtMillis() - System.currentTimeMillis() > ttlSeconds * 500) {
            return new Fill(new OrgStats(orgId, fresh.users(), fresh.avgAge()), true);
        }
        Positions.Past past;
        try {
            past = Positions.past(generation, again == null ? null : again.subList(3, 5), writerPosition);
        } catch (RuntimeException writerDown) {
            // Where the versions read need a position and the writer gives none: answered as a read
            // without a token is, and kept nowhere, since nothing shows that it counts their writes.
            return new Fill(aggregate(orgId, null), false);
        }
        long started = System.nanoTime();
        OrgStats stats = aggregate(orgId, past.position());
        if (stats.users() == 0) {
            // No entry for an organisation without users: any id a caller sends would otherwise leave
            // one in Redis, and the answer costs an index look-up that finds nothing.
            return new Fill(stats, true);
        }
        long computeMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        Entry entry = new Entry(
                epoch,
                generation,
                stats.users(),
                stats.avgAge(),
                computeMillis,
                System.currentTimeMillis() + ttlSeconds * 1000);
        redis.call("set", j -> {
            Pipeline p = j.pipelined();
            // A version without a position: the writer's, read for this miss, for the next misses too.
            if (past.healEpoch()) {
                Positions.raise(p, Positions.EPOCH_KEY, Positions.format(past.position()), 0);
            }
            if (past.healOrg()) {
                Positions.raise(p, Positions.key(orgId), Positions.format(past.position()), 2 * ttlSeconds);
            }
            p.setex(entryKey(orgId), ttlSeconds, serialised(entry));
            p.expire(generationKey(orgId), 2 * ttlSeconds);
            p.expire(Positions.key(orgId), 2 * ttlSeconds); // lives as long as the generation it comes with
            p.sync();
            return true;
        });
        return new Fill(stats, true);
    }

    /**
     * The org's users, on a server that has replayed {@code past} (a replica, else the writer), or
     * where a read without a token goes when it is null.
     */
    private OrgStats aggregate(long orgId, ConsistencyToken past) {
        try (Timer.Context ignored = aggregation.time()) {
            return past == null
                    ? dao.read(null, reads -> reads.aggregate(orgId))
                    : dao.readPast(past, reads -> reads.aggregate(orgId));
        }
    }

    /** XFetch: refresh when now - computeTime * beta * ln(random) passes the expiry. */
    private boolean shouldRefreshEarly(Entry entry) {
        if (beta <= 0) {
            return false;
        }
        double draw = -Math.log(1.0 - ThreadLocalRandom.current().nextDouble()); // > 0, mean 1
        return System.currentTimeMillis() + entry.computeMillis() * beta * draw >= entry.expiresAtMillis();
    }

    private Entry parse(String stored, boolean count) {
        if (stored == null) {
            return null;
        }
        try {
            return json.readValue(stored, Entry.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            if (count) {
                errors.mark(); // garbage in Redis: a miss, and the next write replaces it
            }
            return null;
        }
    }

    private long version(String stored) {
        if (stored == null) {
            return 0;
        }
        try {
            return Long.parseLong(stored);
        } catch (NumberFormatException e) {
            errors.mark();
            return -1; // no entry carries -1: a miss until the key is rewritten
        }
    }

    private String serialised(Entry entry) {
        try {
            return json.writeValueAsString(entry);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
