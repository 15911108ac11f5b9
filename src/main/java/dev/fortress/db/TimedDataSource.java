package dev.fortress.db;

import com.codahale.metrics.Timer;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * A pool that times every borrow: how long callers wait for a connection (near zero until the
 * pool saturates, then up to {@code maxWaitForConnection}). Failed borrows are timed too: a
 * caller that gave up after the wait bound waited that long.
 */
final class TimedDataSource extends PoolInFront {

    private final Timer wait;

    TimedDataSource(DataSource pool, Timer wait) {
        super(pool);
        this.wait = wait;
    }

    @Override
    public Connection getConnection() throws SQLException {
        try (Timer.Context ignored = wait.time()) {
            return pool.getConnection();
        }
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        try (Timer.Context ignored = wait.time()) {
            return pool.getConnection(username, password);
        }
    }
}
