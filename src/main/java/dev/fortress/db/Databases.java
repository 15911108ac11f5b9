package dev.fortress.db;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.health.HealthCheck;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import io.dropwizard.util.Duration;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.sql.DataSource;
import org.apache.tomcat.jdbc.pool.DataSourceProxy;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writer and the replicas, by name (and the writer's pool itself, for JobRunr). Code that
 * writes, or must never read stale data (JobRunr, import status), uses {@link #writer()}. Reads
 * that may be served by a replica go through {@link #reads(Class)}: {@link ReplicaSet} decides,
 * per request, between the replicas and the writer (lag, reachability, consistency tokens).
 */
public record Databases(Jdbi writer, DataSource writerDataSource, ReplicaSet replicas, Meter readsOnWriter) {

    public static final String WRITER = "writer";
    public static final String READER = "reader";
    private static final Logger LOG = LoggerFactory.getLogger(Databases.class);

    /**
     * Builds the writer's pool and one pool per replica that {@code readerDatabase.url} names
     * (pgjdbc's multi-host form {@code jdbc:postgresql://h1:5433,h2:5434/db}), each of
     * {@code readerDatabase}'s size: a replica is a server of its own, with its own cores and
     * connection limit, so adding one adds read capacity instead of dividing it. Ties them to the
     * lifecycle and registers their health checks and monitors.
     */
    public static Databases build(
            FortressDataSourceFactory writerDatabase,
            FortressDataSourceFactory readerDatabase,
            ReplicaConfiguration replica,
            Duration slowQueryThreshold,
            Environment environment,
            LogLimiter logs) {
        ManagedDataSource writerPool = pool(writerDatabase, environment, WRITER);
        // Dropwizard's pools are tomcat-jdbc's: PrimaryWait changes the writer's validationInterval live.
        PrimaryWait writerSource = new PrimaryWait(
                timed(environment, writerPool, writerDatabase, WRITER),
                (DataSourceProxy) writerPool,
                writerDatabase.getPrimaryWait().toJavaDuration(),
                writerDatabase.getPrimaryWaiters(),
                PrimaryWait.CHECK_ALL_FOR,
                environment.metrics());
        Jdbi writer = managed(
                environment, writerPool, writerSource, WRITER, slowQueryThreshold, logs, writerSource::statementFailed);
        environment
                .healthChecks()
                .register(
                        WRITER,
                        new DatabaseHealthCheck(
                                WRITER,
                                writer,
                                writerPool,
                                writerDatabase,
                                writerDatabase.getUrl(),
                                timeout(writerDatabase),
                                () -> null,
                                new WriterRole(environment.metrics())));
        WriterPosition writerPosition =
                new WriterPosition(writer, environment.metrics().meter("dev.fortress.db.consistency-tokens.refused"));
        String url = readerDatabase.getUrl();
        List<String> hosts = JdbcUrls.hosts(url);
        List<ReplicaSet.Member> members = new ArrayList<>();
        Map<String, HealthCheck> checks = new LinkedHashMap<>();
        for (int i = 0; i < hosts.size(); i++) {
            String host = hosts.get(i);
            String name = hosts.size() == 1 ? READER : READER + "-" + (i + 1);
            FortressDataSourceFactory readers =
                    forUrl(readerDatabase, JdbcUrls.withHost(url, host), environment.getObjectMapper());
            ManagedDataSource pool = pool(readers, environment, name);
            DataSource timed = timed(environment, pool, readers, name);
            Jdbi reader = managed(environment, pool, timed, name, slowQueryThreshold, logs, error -> {});
            // One thread, so no %d: the lifecycle also names the executor's thread metrics after
            // the format, and a ':' (host:port) or "_d_" there fails Prometheus's lint.
            ReplicaMonitor monitor = new ReplicaMonitor(
                    writer,
                    reader,
                    replica,
                    environment.metrics(),
                    host,
                    writerPosition,
                    hosts.size() == 1,
                    environment
                            .lifecycle()
                            .scheduledExecutorService("replica-monitor-" + name, true)
                            .threads(1)
                            .build());
            environment.lifecycle().manage(monitor);
            DatabaseHealthCheck check = new DatabaseHealthCheck(
                    name, reader, pool, readers, readers.getUrl(), timeout(readers), monitor::degradedReason);
            environment.healthChecks().register(name, check);
            checks.put(name, check);
            members.add(new ReplicaSet.Member(
                    host,
                    name,
                    reader,
                    timed,
                    pool instanceof DataSourceProxy proxy ? proxy : null,
                    readers.getMaxSize(),
                    monitor,
                    environment.metrics().meter(MetricRegistry.name("dev.fortress.db.replica", host, "reads"))));
        }
        if (hosts.size() > 1) {
            // config.yml's health section names "reader" (a check it names must exist); the
            // replicas' own checks run beside it on :8081/healthcheck.
            environment.healthChecks().register(READER, new ReplicasHealthCheck(checks));
        }
        ReplicaSet replicas = new ReplicaSet(members, writerPosition);
        replicas.register(environment.metrics());
        return new Databases(
                writer, writerSource, replicas, environment.metrics().meter("dev.fortress.db.reads-on-writer"));
    }

    /**
     * The Jersey feature that gives a write's answer its {@code X-Consistency-Token}, read on this
     * writer; http/Routes registers it.
     */
    public ConsistencyTokenFeature consistencyTokens(LogLimiter logs) {
        return new ConsistencyTokenFeature(writer, writerPosition(), logs);
    }

    /** The writer's position: read after a commit ({@link WriterPosition#afterCommit}), or as last known. */
    public WriterPosition writerPosition() {
        return replicas.writerPosition();
    }

    /** The first replica's Jdbi (tests that look at one replica). */
    public Jdbi reader() {
        return replicas.member(0).jdbi();
    }

    /** A read-only SQL object on every replica and the writer, chosen per request. */
    public <T> Reads<T> reads(Class<T> dao) {
        return new Reads<>(
                replicas.members().stream().map(m -> m.jdbi().onDemand(dao)).toList(),
                writer.onDemand(dao),
                replicas,
                readsOnWriter);
    }

    /** One datasource as a read DAO built on it sees it: its timed pool, its Jdbi, its statement metrics. */
    public record Source(DataSource pool, Jdbi jdbi, StatementMetrics metrics) {}

    /** A read DAO built by {@code dao} on each datasource, chosen per request as {@link #reads(Class)} does. */
    public <T> Reads<T> reads(Function<Source, T> dao) {
        return new Reads<>(
                replicas.members().stream()
                        .map(m -> dao.apply(source(m.dataSource(), m.jdbi())))
                        .toList(),
                dao.apply(source(writerDataSource, writer)),
                replicas,
                readsOnWriter);
    }

    private static Source source(DataSource pool, Jdbi jdbi) {
        return new Source(pool, jdbi, StatementMetrics.of(jdbi));
    }

    private static Duration timeout(DataSourceFactory factory) {
        return factory.getValidationQueryTimeout().orElse(Duration.seconds(2));
    }

    /**
     * A copy of {@code factory} with another URL: a pool per replica is built from its own settings, and
     * the operator's configuration object stays as it was loaded (pool() adds to a factory's properties).
     */
    static FortressDataSourceFactory forUrl(FortressDataSourceFactory factory, String url, ObjectMapper json) {
        FortressDataSourceFactory copy = json.convertValue(factory, FortressDataSourceFactory.class);
        copy.setUrl(url);
        return copy;
    }

    /** Behind a transaction-mode pooler no statement may be server-prepared; say which way each pool goes. */
    private static ManagedDataSource pool(FortressDataSourceFactory factory, Environment environment, String name) {
        if (factory.isTransactionPooler()) {
            factory.getProperties().put("prepareThreshold", "0");
            LOG.info(
                    "{}: behind a transaction-mode pooler ({}): prepareThreshold=0, no server-side prepared "
                            + "statements",
                    name,
                    JdbcUrls.redact(factory.getUrl()));
        } else {
            LOG.info(
                    "{}: direct connections ({}): prepareThreshold={}, hot statements server-prepared",
                    name,
                    JdbcUrls.redact(factory.getUrl()),
                    factory.getProperties().getOrDefault("prepareThreshold", "5"));
        }
        return factory.build(environment.metrics(), name);
    }

    /**
     * The pool as the application uses it, timing each borrow ({@code dev.fortress.db.pool.<name>.wait}),
     * with its configured size beside the pool's own gauges ({@code dev.fortress.db.pool.<name>.max}):
     * saturation is active / max.
     */
    private static DataSource timed(
            Environment environment, ManagedDataSource pool, DataSourceFactory factory, String name) {
        String prefix = MetricRegistry.name("dev.fortress.db.pool", name);
        environment.metrics().register(MetricRegistry.name(prefix, "max"), (Gauge<Integer>) factory::getMaxSize);
        return new TimedDataSource(pool, environment.metrics().timer(MetricRegistry.name(prefix, "wait")));
    }

    /** @param onFailure told of each failed statement on it (the writer's PrimaryWait; nothing for a reader) */
    private static Jdbi managed(
            Environment environment,
            ManagedDataSource pool,
            DataSource source,
            String name,
            Duration slowQueryThreshold,
            LogLimiter logs,
            Consumer<SQLException> onFailure) {
        environment.lifecycle().manage(pool);
        return configure(
                Jdbi.create(source),
                new StatementMetrics(
                        environment.metrics(), name, slowQueryThreshold.toJavaDuration(), logs, onFailure));
    }

    /** The JDBI set-up every Fortress datasource shares; DAO tests use it too. */
    public static Jdbi configure(Jdbi jdbi, StatementMetrics metrics) {
        jdbi.installPlugin(new SqlObjectPlugin());
        jdbi.setSqlLogger(metrics);
        jdbi.getConfig(StatementMetrics.Config.class).set(metrics);
        return jdbi;
    }
}
