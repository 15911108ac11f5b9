package dev.fortress.db;

import com.codahale.metrics.Timer;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * A pool that times every borrow: how long callers wait for a connection (near zero until the
 * pool saturates, then up to {@code maxWaitForConnection}). Failed borrows are timed too: a
 * caller that gave up after the wait bound waited that long.
 */
final class TimedDataSource implements DataSource {

    private final DataSource pool;
    private final Timer wait;

    TimedDataSource(DataSource pool, Timer wait) {
        this.pool = pool;
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

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return pool.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        pool.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        pool.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return pool.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return pool.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        return type.isInstance(pool) ? type.cast(pool) : pool.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws SQLException {
        return type.isInstance(pool) || pool.isWrapperFor(type);
    }
}
