package dev.fortress.orgs;

import dev.fortress.cache.Redis;
import dev.fortress.db.Databases;
import dev.fortress.db.Reads;
import dev.fortress.http.Routes;
import dev.fortress.ops.WarmupRequest;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.util.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.function.Supplier;

/** The orgs feature: the stats route and its cache, which other features' writes invalidate. */
public final class Orgs {

    private final OrgStatsCache cache;
    private final Databases databases;

    private Orgs(OrgStatsCache cache, Databases databases) {
        this.cache = cache;
        this.databases = databases;
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
        OrgsResource resource = new OrgsResource(cache);
        routes.resource(resource);
        routes.directGet("/orgs/", "/stats", OrgsResource.class, "stats",
                (segment, request) -> resource.stats(segment));
        return new Orgs(cache, databases);
    }

    /** A write changed {@code orgId}'s users: its cached stats are stale. */
    public void invalidate(long orgId) {
        cache.invalidate(orgId);
    }

    public void invalidate(Set<Long> orgIds) {
        orgIds.forEach(cache::invalidate);
    }

    /** Stats of orgs that have users (sampled from the reader), for the warm-up: misses, then hits. */
    public Supplier<List<WarmupRequest>> warmup() {
        Reads<OrgStatsDao> reads = databases.reads(OrgStatsDao.class);
        return () -> {
            List<Long> orgs = reads.read(null, dao -> dao.sampleOrgIds(10_000));
            Supplier<String> org = orgs.isEmpty() ? () -> "/orgs/1/stats"
                    : () -> "/orgs/" + orgs.get(ThreadLocalRandom.current().nextInt(orgs.size())) + "/stats";
            return List.of(WarmupRequest.get("/orgs/{id}/stats", org, 200),
                    WarmupRequest.get("/orgs/{id}/stats", () -> "/orgs/not-a-number/stats", 404));
        };
    }
}
