package dev.fortress.cache;

import com.codahale.metrics.health.HealthCheck;

/**
 * Unhealthy when Redis does not answer, in words that say the service is degraded, not down:
 * caches fail open to the database. Register it as non-critical so that readiness holds.
 */
public final class RedisHealthCheck extends HealthCheck {

    private final Redis redis;

    public RedisHealthCheck(Redis redis) {
        this.redis = redis;
    }

    @Override
    protected Result check() {
        try {
            String pong = redis.ping();
            return Result.healthy(
                    "redis at %s answers %s; breaker %s",
                    redis.where(), pong, redis.breakerState().name().toLowerCase());
        } catch (RuntimeException e) {
            return Result.unhealthy(
                    "degraded: redis at %s does not answer (%s); caches are bypassed and "
                            + "requests are served from the database. %s Breaker %s.",
                    redis.where(),
                    e.getMessage(),
                    redis.whatToCheck(),
                    redis.breakerState().name().toLowerCase());
        }
    }
}
