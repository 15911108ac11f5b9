package dev.fortress.orgs;

import dev.fortress.cache.Invalidations;
import dev.fortress.cache.NearCache;
import dev.fortress.cache.NearCacheConfiguration;
import dev.fortress.cache.Redis;
import dev.fortress.db.Databases;
import dev.fortress.http.Routes;
import dev.fortress.ops.WarmupRequest;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import io.dropwizard.util.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;

/** The orgs feature: the stats route and its cache, which other features' writes invalidate. */
public final class Orgs {

    static final String NEAR_CACHE_METRICS = "dev.fortress.orgs.stats.near-cache";

    private final OrgStatsCache cache;

    private Orgs(OrgStatsCache cache) {
        this.cache = cache;
    }

    public static Orgs build(
            OrgsConfiguration config, Environment environment, Routes routes, Databases databases, Redis redis) {
        // Early refreshes: one thread, a second when 64 wait; beyond that a refresh is dropped (the entry
        // is still served). Dropwizard names the threads and stops them with the application.
        ExecutorService refresher = environment
                .lifecycle()
                .executorService("org-stats-refresh-%d")
                .minThreads(1)
                .maxThreads(2)
                .keepAliveTime(Duration.seconds(30))
                .workQueue(new ArrayBlockingQueue<>(64))
                .rejectedExecutionHandler(new ThreadPoolExecutor.DiscardPolicy())
                .build();
        NearCacheConfiguration nearConfig = config.getNearCache();
        // The retry of an epoch bump Redis did not take (on every instance: a worker's finished import
        // invalidates too), at the same pace; a thread of its own, since it may wait for a writer that is
        // down (its position), and the heartbeat must not.
        ScheduledExecutorService bumps = environment
                .lifecycle()
                .scheduledExecutorService("org-stats-epoch-bump", true)
                .threads(1)
                .build();
        NearCache<Long, OrgStats> near = NearCache.off();
        if (nearConfig.isEnabled() && routes.serving()) { // an instance that serves no stats keeps none
            ScheduledExecutorService ticks = environment
                    .lifecycle() // the subscription's heartbeat
                    .scheduledExecutorService("org-stats-heartbeat", true)
                    .threads(1)
                    .build();
            Invalidations invalidations = new Invalidations(
                    redis,
                    OrgStatsCache.channel(redis.database()),
                    "org-stats",
                    nearConfig.getHeartbeat(),
                    ticks,
                    environment.metrics(),
                    NEAR_CACHE_METRICS);
            near = NearCache.fedBy(
                    invalidations,
                    nearConfig.getMaxEntries(),
                    nearConfig.getTtl(),
                    Long::valueOf,
                    environment.metrics(),
                    NEAR_CACHE_METRICS);
            redis.onFailure(invalidations::distrust);
            environment.lifecycle().manage(invalidations);
        }
        OrgStatsCache cache = new OrgStatsCache(
                databases.reads(OrgStatsDao.class),
                databases.writerPosition()::afterCommit,
                redis,
                near,
                config,
                refresher,
                environment.getObjectMapper(),
                environment.metrics());
        redis.onMasterChange(cache::masterChanged);
        long heartbeat = nearConfig.getHeartbeat().toNanoseconds();
        environment.lifecycle().manage(new Managed() {
            @Override
            public void start() {
                bumps.scheduleWithFixedDelay(
                        () -> cache.bumpEpochIfPending(true), heartbeat, heartbeat, TimeUnit.NANOSECONDS);
            }
        });
        OrgsResource resource = new OrgsResource(cache, routes.access().refusals("orgs"));
        routes.resource(resource);
        routes.directGet(
                "/orgs/",
                "/stats",
                OrgsResource.class,
                "stats",
                (caller, segment, request) -> resource.stats(caller, segment));
        return new Orgs(cache);
    }

    /**
     * A write changed {@code orgId}'s users: its cached stats are stale. Call after the write's last
     * commit: the writer's position read here is the request's consistency token too.
     */
    public void invalidate(long orgId) {
        cache.invalidate(Set.of(orgId));
    }

    /** As {@link #invalidate(long)}, for several orgs: one position and one Redis round trip for all. */
    public void invalidate(Set<Long> orgIds) {
        cache.invalidate(orgIds);
    }

    /**
     * The stats of the warm-up's own organisation (a miss, then hits), another organisation's (404),
     * a segment that is no id (404), and an unknown key (401).
     */
    public LongFunction<List<WarmupRequest>> warmup() {
        return orgId -> List.of(
                WarmupRequest.get("/orgs/{id}/stats", () -> "/orgs/" + orgId + "/stats", 200),
                WarmupRequest.get("/orgs/{id}/stats", () -> "/orgs/" + (orgId + 1) + "/stats", 404),
                WarmupRequest.get("/orgs/{id}/stats", () -> "/orgs/not-a-number/stats", 404),
                WarmupRequest.unauthenticated("/orgs/{id}/stats", () -> "/orgs/" + orgId + "/stats"));
    }
}
