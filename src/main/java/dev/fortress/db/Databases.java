package dev.fortress.db;

import dev.fortress.FortressConfiguration;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import io.dropwizard.util.Duration;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/**
 * The two datasources, by name (and the writer's pool itself, for JobRunr). Code that writes asks for {@link #writer()}; the hot read
 * path asks for {@link #reader()}. Nothing routes behind a caller's back.
 */
public record Databases(Jdbi writer, Jdbi reader, DataSource writerDataSource) {

    public static final String WRITER = "writer";
    public static final String READER = "reader";

    /** Builds both pools, ties them to the lifecycle, and registers their health checks and mappers. */
    public static Databases build(FortressConfiguration config, Environment environment) {
        ManagedDataSource writerPool = config.getWriterDatabase().build(environment.metrics(), WRITER);
        ManagedDataSource readerPool = config.getReaderDatabase().build(environment.metrics(), READER);
        Jdbi writer = managed(environment, config.getWriterDatabase(), writerPool, WRITER,
                config.getSlowQueryThreshold());
        Jdbi reader = managed(environment, config.getReaderDatabase(), readerPool, READER,
                config.getSlowQueryThreshold());
        environment.jersey().register(new DatabaseExceptionMapper());
        return new Databases(writer, reader, writerPool);
    }

    private static Jdbi managed(Environment environment, DataSourceFactory factory, ManagedDataSource dataSource,
                                String name, Duration slowQueryThreshold) {
        environment.lifecycle().manage(dataSource);
        Jdbi jdbi = configure(Jdbi.create(dataSource),
                new StatementMetrics(environment.metrics(), name, slowQueryThreshold.toJavaDuration()));
        environment.healthChecks().register(name, new DatabaseHealthCheck(
                name, jdbi, dataSource, factory,
                factory.getValidationQueryTimeout().orElse(Duration.seconds(2))));
        return jdbi;
    }

    /** The JDBI set-up every Fortress datasource shares; DAO tests use it too. */
    public static Jdbi configure(Jdbi jdbi, StatementMetrics metrics) {
        jdbi.installPlugin(new SqlObjectPlugin());
        jdbi.setSqlLogger(metrics);
        return jdbi;
    }
}
