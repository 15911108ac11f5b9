package dev.fortress;

import dev.fortress.auth.Access;
import dev.fortress.cache.Caches;
import dev.fortress.cache.Redis;
import dev.fortress.db.Databases;
import dev.fortress.db.LogLimiter;
import dev.fortress.http.DatabaseExceptionMapper;
import dev.fortress.http.Edge;
import dev.fortress.http.OpenApi;
import dev.fortress.http.RequestHygiene;
import dev.fortress.http.Routes;
import dev.fortress.idempotency.Idempotency;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.imports.Imports;
import dev.fortress.jobs.Jobs;
import dev.fortress.ops.FortressMetricRegistry;
import dev.fortress.ops.Prometheus;
import dev.fortress.ops.Warmup;
import dev.fortress.orgs.Orgs;
import dev.fortress.transactions.Transactions;
import dev.fortress.users.Users;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.core.Application;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.migrations.MigrationsBundle;
import java.util.List;

public class FortressApplication extends Application<FortressConfiguration> {

    /** Classpath name of the Liquibase changelog (top-level migrations/ is packaged under db/). */
    public static final String CHANGELOG = "db/changelog.xml";

    private Databases databases;
    private LogLimiter logs;

    public static void main(String[] args) throws Exception {
        new FortressApplication().run(args);
    }

    @Override
    public String getName() {
        return "fortress";
    }

    @Override
    public void initialize(Bootstrap<FortressConfiguration> bootstrap) {
        // Strict: a typo in ${VAR:-default} fails at start-up instead of passing a literal "${...}".
        bootstrap.setConfigurationSourceProvider(new SubstitutingSourceProvider(
                bootstrap.getConfigurationSourceProvider(), new EnvironmentVariableSubstitutor(true)));
        bootstrap.addBundle(new MigrationsBundle<>() {
            @Override
            public DataSourceFactory getDataSourceFactory(FortressConfiguration configuration) {
                return configuration.getWriterDatabase();
            }

            @Override
            public String getMigrationsFileName() {
                return CHANGELOG;
            }
        });
        bootstrap.addCommand(new SeedCommand());
        bootstrap.addCommand(new KeysCommand());
        bootstrap.setMetricRegistry(new FortressMetricRegistry());
    }

    @Override
    public void run(FortressConfiguration configuration, Environment environment) {
        logs = LogLimiter.build(environment);
        databases = Databases.build(
                configuration.getWriterDatabase(),
                configuration.getReaderDatabase(),
                configuration.getReplica(),
                configuration.getSlowQueryThreshold(),
                environment,
                logs);
        Jobs jobs = Jobs.build(
                configuration.getJobs(), environment, databases.writerDataSource(), configuration.getWriterDatabase());
        Redis redis = Caches.build(configuration.getRedis(), environment);
        DatabaseExceptionMapper databaseErrors = RequestHygiene.register(environment, logs);
        Access access =
                Access.build(configuration.getAuth(), configuration.getRateLimits(), environment, databases, redis);
        Edge.register(configuration.getEdge(), environment, access::refusedAtEdge);
        Routes routes = Routes.of(
                environment,
                access,
                databaseErrors,
                databases.consistencyTokens(logs),
                configuration.getJobs().getMode().servesApi());
        OpenApi.register(environment, routes.serving());

        Orgs orgs = Orgs.build(configuration.getOrgs(), environment, routes, databases, redis);
        IdempotentWrites idempotent = Idempotency.build(
                        configuration.getIdempotency(), environment, databases.writer(), jobs)
                .writes();
        Users users = Users.build(environment, routes, databases, idempotent, orgs::invalidate);
        Imports.build(configuration.getImports(), environment, routes, databases, jobs, idempotent, orgs::invalidate);
        Transactions transactions =
                Transactions.build(configuration.getTransactions(), environment, routes, databases, jobs, idempotent);

        // An instance that serves no API has nothing to warm: its readiness turns 200 at once.
        Warmup.register(
                configuration.getWarmup(),
                environment,
                access,
                users.warmupOrg(),
                routes.serving() ? List.of(users.warmup(), orgs.warmup(), transactions.warmup()) : List.of());
        Prometheus.register(environment, configuration.getHealthFactory().orElse(null));
    }

    /** The running instance's datasources; for admin tasks and tests. */
    public Databases databases() {
        return databases;
    }

    /** The running instance's rate-limited logs; for tests. */
    public LogLimiter logs() {
        return logs;
    }
}
