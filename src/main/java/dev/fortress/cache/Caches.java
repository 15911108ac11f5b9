package dev.fortress.cache;

import io.dropwizard.core.setup.Environment;

/** Builds the Redis client every cache shares, with its lifecycle and its (non-critical) health check. */
public final class Caches {

    private Caches() {}

    public static Redis build(RedisConfiguration config, Environment environment) {
        Redis redis = new Redis(config, environment.metrics());
        environment.lifecycle().manage(redis);
        environment.healthChecks().register("redis", new RedisHealthCheck(redis));
        return redis;
    }
}
