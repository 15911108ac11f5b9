package dev.fortress.http;

import dev.fortress.auth.Access;
import dev.fortress.db.ConsistencyTokenFeature;
import io.dropwizard.core.setup.Environment;

/**
 * Where a feature puts its routes: its Jersey resources and the {@link DirectGetFilter}s in front
 * of them, all under the same access rules ({@link Access}). An instance that serves no API
 * ({@code jobs.mode: worker}) takes none, so it answers only readiness on the application port, and
 * health, metrics and tasks on the admin port, while its features still run their jobs.
 */
public final class Routes {

    private final Environment environment;
    private final Access access;
    private final DatabaseExceptionMapper databaseErrors;
    private final boolean serving;

    private Routes(Environment environment, Access access, DatabaseExceptionMapper databaseErrors, boolean serving) {
        this.environment = environment;
        this.access = access;
        this.databaseErrors = databaseErrors;
        this.serving = serving;
    }

    /**
     * @param databaseErrors Jersey's, which the direct routes answer with too ({@link RequestHygiene})
     * @param consistencyTokens the feature that gives the answers of routes marked
     *     {@link dev.fortress.db.IssuesConsistencyToken} their token ({@code Databases.consistencyTokens})
     */
    public static Routes of(
            Environment environment,
            Access access,
            DatabaseExceptionMapper databaseErrors,
            ConsistencyTokenFeature consistencyTokens,
            boolean servesApi) {
        environment.jersey().register(consistencyTokens);
        return new Routes(environment, access, databaseErrors, servesApi);
    }

    /** Whether this instance serves the API. */
    public boolean serving() {
        return serving;
    }

    /** Who may call what; features ask it for their refusal counts. */
    public Access access() {
        return access;
    }

    public void resource(Object resource) {
        if (serving) {
            environment.jersey().register(resource);
        }
    }

    /** {@code GET <prefix><segment><suffix>} served by {@code route} in front of Jersey (see {@link DirectGetFilter}). */
    public void directGet(String prefix, String suffix, Class<?> resource, String method, DirectGetFilter.Route route) {
        if (serving) {
            DirectGetFilter.register(environment, access, databaseErrors, prefix, suffix, resource, method, route);
        }
    }
}
