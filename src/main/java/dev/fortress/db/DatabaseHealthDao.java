package dev.fortress.db;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.QueryTimeOut;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** What {@link DatabaseHealthCheck} asks each datasource. */
public interface DatabaseHealthDao {

    record Probe(String version, boolean inRecovery) {
    }

    /** The server's version and whether it is a standby, within {@code seconds}. */
    @SqlQuery("select current_setting('server_version') as version, pg_is_in_recovery() as in_recovery")
    @RegisterConstructorMapper(Probe.class)
    Probe probe(@QueryTimeOut int seconds);
}
