package dev.fortress.orgs;

import dev.fortress.cache.Redis;
import dev.fortress.db.Databases;
import dev.fortress.http.Routes;
import dev.fortress.ops.WarmupRequest;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.util.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.function.LongFunction;

/** The orgs feature: the stats route and its cache, which other features' writes invalidate. */
public final class Orgs {

    private final OrgStatsCache cache;

    private Orgs(OrgStatsCache cache) {
        this.cache = cache;
    }

    public static Orgs build(OrgsConfiguration config, Environment environment, Routes routes, Databases databases,
                             Redis redis) {
        // Early refreshes: one thread, a second when 64 wait; beyond that a refresh is dropped (the entry
        // is still served). Dropwizard names the threads and stops them with the application.
        ExecutorService refresher = environment.lifecycle().executorService("org-stats-refresh-%d")
                .minThreads(1)
                .maxThreads(2)
                .keepAliveTime(Duration.seconds(30))
                .workQueue(new ArrayBlockingQueue<>(64))
                .rejectedExecutionHandler(new ThreadPoolExecutor.DiscardPolicy())
                .build();
        OrgStatsCache cache = new OrgStatsCache(databases.reads(OrgStatsDao.class), redis, config, refresher,
                environment.metrics());
        OrgsResource resource = new OrgsResource(cache, routes.access().refusals("orgs"));
        routes.resource(resource);
        routes.directGet("/orgs/", "/stats", OrgsResource.class, "stats",
                (caller, segment, request) -> resource.stats(caller, segment));
        return new Orgs(cache);
    }

    /** A write changed {@code orgId}'s users: its cached stats are stale. */
    public void invalidate(long orgId) {
        cache.invalidate(orgId);
    }

    public void invalidate(Set<Long> orgIds) {
        orgIds.forEach(cache::invalidate);
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
