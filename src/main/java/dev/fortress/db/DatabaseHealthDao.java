package dev.fortress.db;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.QueryTimeOut;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** What {@link DatabaseHealthCheck} asks each datasource. */
public interface DatabaseHealthDao {

    /**
     * {@code address}: the server's ({@code inet_server_addr()}, null over a unix socket);
     * {@code synchronousStandbyNames}: the standbys its commits wait for (empty: none).
     */
    record Probe(String version, boolean inRecovery, String address, String synchronousStandbyNames) {}

    /** The server's version, whether it is a standby, its address and the standbys commits wait for, within {@code seconds}. */
    @SqlQuery("select current_setting('server_version') as version, pg_is_in_recovery() as in_recovery,"
            + " host(inet_server_addr()) as address,"
            + " current_setting('synchronous_standby_names') as synchronous_standby_names")
    @RegisterConstructorMapper(Probe.class)
    Probe probe(@QueryTimeOut int seconds);
}
