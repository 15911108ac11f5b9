package dev.fortress.db;

import com.codahale.metrics.health.HealthCheck;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import io.dropwizard.util.Duration;
import org.apache.tomcat.jdbc.pool.DataSourceProxy;
import org.jdbi.v3.core.Jdbi;

/**
 * Asks the database itself (not just the pool) and says in words what an SRE should check.
 * Never throws: every failure becomes an unhealthy result.
 */
public final class DatabaseHealthCheck extends HealthCheck {

    private final String name;
    private final Jdbi jdbi;
    private final ManagedDataSource dataSource;
    private final String where;
    private final int maxSize;
    private final Duration maxWait;
    private final int timeoutSeconds;

    private final java.util.function.Supplier<String> degraded;
    /** The writer's check tells it what it saw; null for the readers'. */
    private final WriterRole role;

    /**
     * @param url      the datasource's own URL (one replica's, when readerDatabase names several)
     * @param degraded why reads avoid this datasource now, or null (see ReplicaMonitor)
     */
    public DatabaseHealthCheck(
            String name,
            Jdbi jdbi,
            ManagedDataSource dataSource,
            DataSourceFactory factory,
            String url,
            Duration timeout,
            java.util.function.Supplier<String> degraded) {
        this(name, jdbi, dataSource, factory, url, timeout, degraded, null);
    }

    /** @param role told the writer's address and synchronous standbys at each check (the writer's check only) */
    public DatabaseHealthCheck(
            String name,
            Jdbi jdbi,
            ManagedDataSource dataSource,
            DataSourceFactory factory,
            String url,
            Duration timeout,
            java.util.function.Supplier<String> degraded,
            WriterRole role) {
        this.role = role;
        this.degraded = degraded;
        this.name = name;
        this.jdbi = jdbi;
        this.dataSource = dataSource;
        this.where = JdbcUrls.redact(url);
        this.maxSize = factory.getMaxSize();
        this.maxWait = factory.getMaxWaitForConnection();
        this.timeoutSeconds = (int) Math.max(1, timeout.toSeconds());
    }

    @Override
    protected Result check() {
        DatabaseHealthDao.Probe probe;
        try {
            probe = jdbi.withExtension(DatabaseHealthDao.class, dao -> dao.probe(timeoutSeconds));
        } catch (RuntimeException e) {
            if (role != null) {
                role.unknown();
            }
            if (SqlStates.isPoolExhausted(e)) {
                // The database may well answer: every connection is busy (slow statements, locks).
                // Degraded, not down: a lock that saturates every instance's pool at once must not
                // take them all out of the load balancer together; requests fail fast with 503
                // meanwhile and the saturation alerts fire (fortress_db_pool_waiting).
                return Result.healthy(
                        "degraded: %s pool saturated: no free connection within %s; requests that need it "
                                + "answer 503. Look for slow statements (dev.fortress.db.%s.slow-statements) and locks "
                                + "(pg_stat_activity) at %s. %s",
                        name, maxWait, name, where, pool());
            }
            return Result.unhealthy(
                    "%s%s database unreachable at %s: %s. Check that PostgreSQL runs there "
                            + "(bin/services status) and the URL/credentials in the environment. %s",
                    degraded.get() != null ? "degraded: reads avoid it; " : "",
                    name,
                    where,
                    SqlStates.rootMessage(e),
                    pool());
        }
        if (role != null && !probe.inRecovery()) {
            role.observe(probe.address(), probe.synchronousStandbyNames());
        }
        if (Databases.WRITER.equals(name) && probe.inRecovery()) {
            return Result.unhealthy(
                    "writer database at %s is a read-only standby (pg_is_in_recovery): "
                            + "DATABASE_URL_WRITE must point at the primary",
                    where);
        }
        String why = degraded.get();
        if (why != null) {
            return Result.unhealthy(
                    "degraded: reads avoid %s (other replicas, else the writer, serve them) because "
                            + "it is behind: %s. %s",
                    name, why, pool());
        }
        if (role != null) {
            return Result.healthy(
                    "%s: PostgreSQL %s at %s, the primary at %s; commits wait for %s. %s",
                    name,
                    probe.version(),
                    where,
                    probe.address() == null ? "a local socket" : probe.address(),
                    probe.synchronousStandbyNames().isBlank()
                            ? "no standby (asynchronous replication)"
                            : "a standby (synchronous_standby_names: " + probe.synchronousStandbyNames() + ")",
                    pool());
        }
        return Result.healthy(
                "%s: PostgreSQL %s at %s%s. %s",
                name, probe.version(), where, probe.inRecovery() ? " (standby)" : "", pool());
    }

    private String pool() {
        if (dataSource instanceof DataSourceProxy pool && pool.getPool() != null) {
            return String.format(
                    "Pool: %d active, %d idle, %d waiting, max %d.",
                    pool.getActive(), pool.getIdle(), pool.getWaitCount(), maxSize);
        }
        return "Pool not started.";
    }
}
