package dev.fortress.db;

import com.codahale.metrics.health.HealthCheck;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The {@code reader} line when {@code readerDatabase.url} names several replicas: healthy while
 * every replica's own check ({@code reader-1}, {@code reader-2}, ...) is, and its message has one
 * part per replica, so {@code /healthcheck} and the {@code reader} state say which one is off.
 */
final class ReplicasHealthCheck extends HealthCheck {

    private final Map<String, HealthCheck> replicas;

    /** @param replicas each replica's check by its name, in URL order */
    ReplicasHealthCheck(Map<String, HealthCheck> replicas) {
        this.replicas = replicas;
    }

    @Override
    protected Result check() {
        List<Map.Entry<String, Result>> results = replicas.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), e.getValue().execute()))
                .toList();
        long healthy = results.stream().filter(e -> e.getValue().isHealthy()).count();
        String each = results.stream()
                .map(e -> e.getKey()
                        + (e.getValue().isHealthy() ? " healthy: " : " UNHEALTHY: ")
                        + e.getValue().getMessage())
                .collect(Collectors.joining(" | "));
        String summary = healthy + " of " + results.size() + " replicas healthy";
        return healthy == results.size()
                ? Result.healthy("%s. %s", summary, each)
                : Result.unhealthy("%s. %s", summary, each);
    }
}
