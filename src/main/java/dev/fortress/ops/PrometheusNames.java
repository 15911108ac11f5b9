package dev.fortress.ops;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.prometheus.client.Collector;
import io.prometheus.client.Collector.MetricFamilySamples.Sample;
import io.prometheus.client.dropwizard.samplebuilder.SampleBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Prometheus name and labels of each Dropwizard metric. Metrics that differ only by a pool,
 * a route, a statement or a refusal's route family and reason become one labelled family, so that
 * a dashboard or an alert is one expression ({@code fortress_db_pool_active / fortress_db_pool_max});
 * Fortress's own {@code dev.fortress.<feature>.<what>} become {@code fortress_<feature>_<what>}; timers get
 * {@code _seconds} (the bridge converts them to seconds). Everything else keeps its Dropwizard
 * name in snake case ({@code jvm_threads_count}, {@code io_dropwizard_jetty_...}). docs/metrics.md
 * lists the families.
 */
final class PrometheusNames implements SampleBuilder {

    /** A Dropwizard name pattern; label values are its groups 1..n in order, the name may use any group. */
    private record Rule(Pattern pattern, Function<Matcher, String> family, List<String> labels) {
        Rule(String regex, Function<Matcher, String> family, String... labels) {
            this(Pattern.compile(regex), family, List.of(labels));
        }
    }

    private static final String RESOURCE = "dev\\.fortress\\.\\w+\\.(\\w+)Resource\\.(\\w+)";

    private static final List<Rule> RULES = List.of(
            // tomcat-jdbc pools, named by FortressDataSourceFactory.build(..., "writer"|"reader")
            new Rule(
                    "io\\.dropwizard\\.db\\.ManagedPooledDataSource\\.([\\w-]+)\\.(\\w+)",
                    m -> "fortress_db_pool_" + snake(m.group(2)),
                    "pool"),
            new Rule("dev\\.fortress\\.db\\.pool\\.([\\w-]+)\\.(\\w+)", m -> "fortress_db_pool_" + m.group(2), "pool"),
            // ReplicaMonitor and ReplicaSet: dev.fortress.db.replica.<host:port>.<what>
            new Rule(
                    "dev\\.fortress\\.db\\.replica\\.(.+)\\.(lag-bytes|lag-seconds|in-use|primary|max-lag-bytes|max-lag-seconds|reads)",
                    m -> "fortress_db_replica_" + m.group(2).replace('-', '_'),
                    "replica"),
            // WriterRole: dev.fortress.db.writer.primary.<address>, 1 for the server the writer reaches now
            new Rule("dev\\.fortress\\.db\\.writer\\.primary\\.(.+)", m -> "fortress_db_writer_primary", "address"),
            new Rule("dev\\.fortress\\.db\\.([\\w-]+)\\.slow-statements", m -> "fortress_db_slow_statements", "pool"),
            new Rule(
                    "dev\\.fortress\\.db\\.([\\w-]+)\\.statement-timeouts",
                    m -> "fortress_db_statement_timeouts",
                    "pool"),
            // StatementMetrics: dev.fortress.db.<pool>.<Dao>.<method>
            new Rule(
                    "dev\\.fortress\\.db\\.([\\w-]+)\\.(\\w+\\.\\w+)",
                    m -> "fortress_db_statement_duration",
                    "pool",
                    "statement"),
            // Jersey's @Timed and @ResponseMetered on resource methods
            new Rule(
                    RESOURCE + "\\.([1-5]xx)-responses",
                    m -> "fortress_http_responses",
                    "resource",
                    "operation",
                    "status"),
            new Rule(RESOURCE + "\\.total", m -> "fortress_http_request_duration", "resource", "operation"),
            new Rule(
                    RESOURCE + "\\.(request|response)\\.filtering",
                    m -> "fortress_http_filter_duration",
                    "resource",
                    "operation",
                    "phase"),
            new Rule(RESOURCE, m -> "fortress_http_resource_duration", "resource", "operation"),
            // Jetty's handler on the application port
            new Rule(
                    "io\\.dropwizard\\.jetty\\.MutableServletContextHandler\\.([1-5]xx)-responses",
                    m -> "fortress_http_server_responses",
                    "status"),
            new Rule(
                    "io\\.dropwizard\\.jetty\\.MutableServletContextHandler\\.requests",
                    m -> "fortress_http_server_request_duration"),
            new Rule(
                    "io\\.dropwizard\\.jetty\\.MutableServletContextHandler\\.active-requests",
                    m -> "fortress_http_server_active_requests"),
            new Rule("dev\\.fortress\\.health\\.([\\w-]+)", m -> "fortress_health_healthy", "check"),
            // cache/RedisMasters: dev.fortress.cache.redis.master.<host:port>, 1 for the master calls reach now
            new Rule("dev\\.fortress\\.cache\\.redis\\.master\\.(.+)", m -> "fortress_cache_redis_master", "master"),
            new Rule("dev\\.fortress\\.jobs\\.state\\.(\\w+)", m -> "fortress_jobs_in_state", "state"),
            // auth/Refusals: dev.fortress.auth.refused.<family>.<reason>
            new Rule(
                    "dev\\.fortress\\.auth\\.refused\\.(\\w+)\\.([\\w-]+)",
                    m -> "fortress_auth_refused",
                    "family",
                    "reason"),
            // http/SlowClients: dev.fortress.edge.closed.<reason>
            new Rule("dev\\.fortress\\.edge\\.closed\\.([\\w-]+)", m -> "fortress_edge_closed", "reason"),
            // imports/UploadLimits: dev.fortress.imports.uploads-refused.<reason>
            new Rule(
                    "dev\\.fortress\\.imports\\.uploads-refused\\.([\\w-]+)",
                    m -> "fortress_imports_uploads_refused",
                    "reason"),
            // auth/RateLimiter: dev.fortress.ratelimit.limited.<key|address|inflight>
            new Rule("dev\\.fortress\\.ratelimit\\.limited\\.(\\w+)", m -> "fortress_ratelimit_limited", "reason"),
            new Rule("dev\\.fortress\\.(.+)", m -> "fortress_" + m.group(1)));

    private record Mapped(String family, List<String> labelNames, List<String> labelValues) {}

    private final MetricRegistry registry;
    /** Dropwizard names are few and fixed: map each once, not on every scrape. */
    private final Map<String, Mapped> mapped = new ConcurrentHashMap<>();

    PrometheusNames(MetricRegistry registry) {
        this.registry = registry;
    }

    @Override
    public Sample createSample(
            String dropwizardName,
            String nameSuffix,
            List<String> additionalLabelNames,
            List<String> additionalLabelValues,
            double value) {
        Mapped m = mapped.computeIfAbsent(dropwizardName, this::map);
        List<String> names = m.labelNames();
        List<String> values = m.labelValues();
        if (!additionalLabelNames.isEmpty()) {
            names = new ArrayList<>(names);
            names.addAll(additionalLabelNames);
            values = new ArrayList<>(values);
            values.addAll(additionalLabelValues);
        }
        return new Sample(m.family() + (nameSuffix == null ? "" : nameSuffix), names, values, value);
    }

    private Mapped map(String dropwizardName) {
        String unit = registry.getMetrics().get(dropwizardName) instanceof Timer ? "_seconds" : "";
        for (Rule rule : RULES) {
            Matcher m = rule.pattern().matcher(dropwizardName);
            if (m.matches()) {
                List<String> values = new ArrayList<>();
                for (int i = 1; i <= rule.labels().size(); i++) {
                    values.add(rule.labels().get(i - 1).equals("resource") ? snake(m.group(i)) : m.group(i));
                }
                return new Mapped(
                        Collector.sanitizeMetricName(snake(rule.family().apply(m))) + unit,
                        rule.labels(),
                        List.copyOf(values));
            }
        }
        return new Mapped(Collector.sanitizeMetricName(snake(dropwizardName)) + unit, List.of(), List.of());
    }

    /** {@code removeAbandoned} to {@code remove_abandoned}, {@code lag-bytes.x} to {@code lag_bytes_x}. */
    static String snake(String name) {
        return name.replaceAll("([a-z0-9])([A-Z])", "$1_$2")
                .replaceAll("[^A-Za-z0-9_:]", "_")
                .toLowerCase(Locale.ROOT);
    }
}
