package dev.fortress.db;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.FortressConfiguration;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import io.dropwizard.util.Duration;
import javax.sql.DataSource;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.SqlStatements;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The two datasources, by name (and the writer's pool itself, for JobRunr). Code that writes, or
 * must never read stale data (JobRunr, import status), uses {@link #writer()}. Reads that may be
 * served by the replica go through {@link #reads(Class)}, the one place that decides, per request,
 * between the reader and the writer (replica lag, consistency tokens).
 */
public record Databases(Jdbi writer, Jdbi reader, DataSource writerDataSource, DataSource readerDataSource,
                        ReplicaMonitor replica, Meter readsOnWriter) {

    public static final String WRITER = "writer";
    public static final String READER = "reader";
    private static final Logger LOG = LoggerFactory.getLogger(Databases.class);

    /** Builds both pools, ties them to the lifecycle, and registers their health checks and mappers. */
    public static Databases build(FortressConfiguration config, Environment environment) {
        ManagedDataSource writerPool = pool(config.getWriterDatabase(), environment, WRITER);
        ManagedDataSource readerPool = pool(config.getReaderDatabase(), environment, READER);
        DataSource writerTimed = timed(environment, writerPool, config.getWriterDatabase(), WRITER);
        Jdbi writer = managed(environment, writerPool, writerTimed, WRITER, config.getSlowQueryThreshold());
        DataSource readerTimed = timed(environment, readerPool, config.getReaderDatabase(), READER);
        Jdbi reader = managed(environment, readerPool, readerTimed, READER, config.getSlowQueryThreshold());
        environment.healthChecks().register(WRITER, new DatabaseHealthCheck(WRITER, writer, writerPool,
                config.getWriterDatabase(), timeout(config.getWriterDatabase()), () -> null));
        ReplicaMonitor replica = new ReplicaMonitor(writer, reader, config.getReplica(), environment.metrics());
        environment.lifecycle().manage(replica);
        environment.healthChecks().register(READER, new DatabaseHealthCheck(READER, reader, readerPool,
                config.getReaderDatabase(), timeout(config.getReaderDatabase()), replica::degradedReason));
        environment.jersey().register(new DatabaseExceptionMapper());
        environment.jersey().register(new ConsistencyTokenFeature(writer));
        return new Databases(writer, reader, writerTimed, readerTimed, replica,
                environment.metrics().meter("dev.fortress.db.reads-on-writer"));
    }

    /** A read-only SQL object on both datasources, chosen per request. */
    public <T> Reads<T> reads(Class<T> dao) {
        return new Reads<>(reader.onDemand(dao), writer.onDemand(dao), replica, readsOnWriter);
    }

    /** One datasource as a read DAO built on it sees it: its timed pool, its Jdbi, its statement metrics. */
    public record Source(DataSource pool, Jdbi jdbi, StatementMetrics metrics) {
    }

    /** A read DAO built by {@code dao} on each datasource, chosen per request as {@link #reads(Class)} does. */
    public <T> Reads<T> reads(Function<Source, T> dao) {
        return new Reads<>(dao.apply(source(readerDataSource, reader)), dao.apply(source(writerDataSource, writer)),
                replica, readsOnWriter);
    }

    private static Source source(DataSource pool, Jdbi jdbi) {
        return new Source(pool, jdbi, (StatementMetrics) jdbi.getConfig(SqlStatements.class).getSqlLogger());
    }

    private static Duration timeout(DataSourceFactory factory) {
        return factory.getValidationQueryTimeout().orElse(Duration.seconds(2));
    }

    /** Behind a transaction-mode pooler no statement may be server-prepared; say which way each pool goes. */
    private static ManagedDataSource pool(FortressDataSourceFactory factory, Environment environment, String name) {
        if (factory.isTransactionPooler()) {
            factory.getProperties().put("prepareThreshold", "0");
            LOG.info("{}: behind a transaction-mode pooler ({}): prepareThreshold=0, no server-side prepared "
                    + "statements", name, JdbcUrls.redact(factory.getUrl()));
        } else {
            LOG.info("{}: direct connections ({}): prepareThreshold={}, hot statements server-prepared", name,
                    JdbcUrls.redact(factory.getUrl()), factory.getProperties().getOrDefault("prepareThreshold", "5"));
        }
        return factory.build(environment.metrics(), name);
    }

    /**
     * The pool as the application uses it, timing each borrow ({@code dev.fortress.db.pool.<name>.wait}),
     * with its configured size beside the pool's own gauges ({@code dev.fortress.db.pool.<name>.max}):
     * saturation is active / max.
     */
    private static DataSource timed(Environment environment, ManagedDataSource pool, DataSourceFactory factory,
                                    String name) {
        String prefix = MetricRegistry.name("dev.fortress.db.pool", name);
        environment.metrics().register(MetricRegistry.name(prefix, "max"), (Gauge<Integer>) factory::getMaxSize);
        return new TimedDataSource(pool, environment.metrics().timer(MetricRegistry.name(prefix, "wait")));
    }

    private static Jdbi managed(Environment environment, ManagedDataSource pool, DataSource timed, String name,
                                Duration slowQueryThreshold) {
        environment.lifecycle().manage(pool);
        return configure(Jdbi.create(timed),
                new StatementMetrics(environment.metrics(), name, slowQueryThreshold.toJavaDuration()));
    }

    /** The JDBI set-up every Fortress datasource shares; DAO tests use it too. */
    public static Jdbi configure(Jdbi jdbi, StatementMetrics metrics) {
        jdbi.installPlugin(new SqlObjectPlugin());
        jdbi.setSqlLogger(metrics);
        return jdbi;
    }
}
