package dev.fortress.ops;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricFilter;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.health.DefaultHealthFactory;
import io.dropwizard.health.HealthCheckConfiguration;
import io.dropwizard.health.HealthFactory;
import io.dropwizard.health.HealthStateAggregator;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.dropwizard.DropwizardExports;
import io.prometheus.client.hotspot.BufferPoolsExports;
import io.prometheus.client.hotspot.ClassLoadingExports;
import io.prometheus.client.hotspot.GarbageCollectorExports;
import io.prometheus.client.hotspot.MemoryPoolsExports;
import io.prometheus.client.hotspot.StandardExports;
import io.prometheus.client.hotspot.ThreadExports;
import io.prometheus.client.hotspot.VersionInfoExports;
import io.prometheus.client.servlet.jakarta.exporter.MetricsServlet;

/**
 * {@code GET :8081/prometheus}: every Dropwizard metric (named by {@link PrometheusNames}) and the
 * JVM and process metrics (simpleclient_hotspot, in place of Dropwizard's {@code jvm.*}), in the
 * Prometheus text format. The registry is this application's own,
 * not the library's static default, so several instances in one JVM (tests) never collide.
 */
public final class Prometheus {

    public static final String PATH = "/prometheus";

    private Prometheus() {}

    public static void register(Environment environment, HealthFactory health) {
        registerHealthStates(environment, health);
        CollectorRegistry registry = new CollectorRegistry();
        // Dropwizard's jvm.* gauges say what the hotspot exports below say, under names that
        // clash with them (jvm_threads_daemon) or break the conventions (gauges ending _count):
        // the standard hotspot families carry the JVM instead.
        MetricFilter notJvm = (name, metric) -> !name.startsWith("jvm.");
        registry.register(
                new DropwizardExports(environment.metrics(), notJvm, new PrometheusNames(environment.metrics())));
        registry.register(new StandardExports());
        registry.register(new MemoryPoolsExports());
        registry.register(new BufferPoolsExports());
        registry.register(new GarbageCollectorExports());
        registry.register(new ThreadExports());
        registry.register(new ClassLoadingExports());
        registry.register(new VersionInfoExports());
        environment
                .admin()
                .addServlet("prometheus", new MetricsServlet(registry))
                .addMapping(PATH);
    }

    /**
     * {@code dev.fortress.health.<check>}: 1 while the health module holds the check healthy, 0
     * otherwise. These are the states readiness ({@code /health-check}) is computed from, after
     * the configured failure and success attempts, so a panel or alert sees what the load balancer sees.
     */
    private static void registerHealthStates(Environment environment, HealthFactory health) {
        if (!(health instanceof DefaultHealthFactory configured) || !configured.isEnabled()) {
            return;
        }
        for (HealthCheckConfiguration check : configured.getHealthCheckConfigurations()) {
            String name = check.getName();
            environment.metrics().register("dev.fortress.health." + name, (Gauge<Integer>) () -> {
                // Set by the health module once the server starts; no state before that.
                HealthStateAggregator states = environment.health().healthStateAggregator();
                return states == null
                        ? null
                        : states.healthStateView(name)
                                .map(view -> view.isHealthy() ? 1 : 0)
                                .orElse(null);
            });
        }
    }
}
