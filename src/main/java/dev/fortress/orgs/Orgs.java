package dev.fortress.orgs;

import dev.fortress.cache.Redis;
import dev.fortress.db.Databases;
import dev.fortress.db.Reads;
import dev.fortress.http.DirectGetFilter;
import dev.fortress.ops.WarmupRequest;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/** Builds the orgs feature: the stats route and its cache; returns the cache for invalidation. */
public final class Orgs {

    private Orgs() {
    }

    public static OrgStatsCache register(OrgsConfiguration config, Environment environment, Databases databases,
                                         Redis redis) {
        OrgStatsCache cache = new OrgStatsCache(databases.reads(OrgStatsDao.class), redis, config,
                environment.metrics());
        environment.lifecycle().manage(new Managed() {
            @Override
            public void stop() {
                cache.stop();
            }
        });
        OrgsResource resource = new OrgsResource(cache);
        environment.jersey().register(resource);
        DirectGetFilter.register(environment, "/orgs/", "/stats", OrgsResource.class, "stats",
                (segment, request) -> resource.stats(segment));
        return cache;
    }

    /** Stats of orgs that have users (sampled from the reader), for the warm-up: misses, then hits. */
    public static Supplier<List<WarmupRequest>> warmup(Databases databases) {
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
