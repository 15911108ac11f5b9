package dev.fortress.orgs;

import dev.fortress.cache.Redis;
import dev.fortress.db.Databases;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;

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
        environment.jersey().register(new OrgsResource(cache));
        return cache;
    }
}
