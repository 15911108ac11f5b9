package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.testing.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.apache.tomcat.jdbc.pool.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * After a statement on a writer connection failed for want of the primary, PrimaryWait has the pool
 * check every borrow ({@code validationInterval} 0) for a while, then restores the configured interval:
 * a connection that leads to a demoted primary is then dropped at its borrow instead of failing a write.
 * On a real tomcat-jdbc pool, whose settings the pool reads at each check.
 */
class PrimaryWaitChecksTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final long CONFIGURED = 1000;

    private DataSource pool;
    private MetricRegistry metrics;

    @BeforeEach
    void pool() {
        pool = DB.pool(DB.url(), 2);
        pool.getPoolProperties().setTestOnBorrow(true);
        pool.getPoolProperties().setValidationQuery("SELECT pg_current_wal_lsn()");
        pool.getPoolProperties().setValidationInterval(CONFIGURED);
        metrics = new MetricRegistry();
    }

    @AfterEach
    void close() {
        pool.close();
    }

    @Test
    void aStatementThatFoundNoPrimaryHasEveryBorrowCheckedForAWhile() throws SQLException {
        PrimaryWait writer = new PrimaryWait(pool, pool, Duration.ZERO, 16, Duration.ofMinutes(5), metrics);
        assertThat(checkingEveryBorrow()).isZero();

        writer.statementFailed(new SQLException("cannot execute INSERT in a read-only transaction", "25006"));

        assertThat(pool.getPoolProperties().getValidationInterval())
                .as("the pool's interval")
                .isZero();
        assertThat(checkingEveryBorrow()).isEqualTo(1);
        try (Connection connection = writer.getConnection()) {
            assertThat(connection.isValid(2)).isTrue();
        }
        assertThat(pool.getPoolProperties().getValidationInterval())
                .as("still within the while")
                .isZero();
    }

    @Test
    void otherFailuresChangeNothing() {
        PrimaryWait writer = new PrimaryWait(pool, pool, Duration.ZERO, 16, Duration.ofMinutes(5), metrics);

        writer.statementFailed(new SQLException("duplicate key value violates unique constraint", "23505"));
        writer.statementFailed(new SQLException("canceling statement due to statement timeout", "57014"));

        assertThat(pool.getPoolProperties().getValidationInterval()).isEqualTo(CONFIGURED);
        assertThat(checkingEveryBorrow()).isZero();
    }

    @Test
    void theConfiguredIntervalIsBackAtTheFirstBorrowAfterTheWhile() throws SQLException {
        PrimaryWait writer = new PrimaryWait(pool, pool, Duration.ZERO, 16, Duration.ZERO, metrics);
        writer.statementFailed(new SQLException("FATAL: server conn crashed?", "08P01"));
        assertThat(pool.getPoolProperties().getValidationInterval()).isZero();

        try (Connection connection = writer.getConnection()) {
            assertThat(connection.isValid(2)).isTrue();
        }

        assertThat(pool.getPoolProperties().getValidationInterval()).isEqualTo(CONFIGURED);
        assertThat(checkingEveryBorrow()).isZero();
    }

    private int checkingEveryBorrow() {
        return (Integer)
                ((Gauge<?>) metrics.getGauges().get("dev.fortress.db.writer.primary-wait.checking-every-borrow"))
                        .getValue();
    }
}
