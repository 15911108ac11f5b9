package dev.fortress.users;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.db.Databases;
import dev.fortress.db.SqlStates;
import dev.fortress.db.StatementMetrics;
import dev.fortress.testing.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.apache.tomcat.jdbc.pool.DataSource;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/**
 * The hot read on plain JDBC as the SQL object ran it: one server-prepared statement, JDBI's errors.
 * Its answers and timers are UserReadDaoContractTest's.
 */
class JdbcUserReadDaoTest {

    private static final TestDatabase DB = TestDatabase.create();

    private final MetricRegistry metrics = new MetricRegistry();

    private static DataSource pool(String url, String prepareThreshold) {
        return DB.pool(url + (url.contains("?") ? "&" : "?") + "prepareThreshold=" + prepareThreshold, 1);
    }

    private JdbcUserReadDao dao(DataSource pool) {
        StatementMetrics statements = new StatementMetrics(metrics, "reader", Duration.ofSeconds(1));
        Jdbi jdbi = Databases.configure(Jdbi.create(pool), statements);
        return new JdbcUserReadDao(new Databases.Source(pool, jdbi, statements));
    }

    @Test
    void theReadIsOneServerPreparedStatementReusedOnItsConnection() throws Exception {
        DataSource pool = pool(DB.url(), "1");
        JdbcUserReadDao dao = dao(pool);
        for (int i = 0; i < 3; i++) {
            dao.findById(i + 1);
        }
        try (Connection c = pool.getConnection();
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("select generic_plans + custom_plans from pg_prepared_statements "
                        + "where statement = 'select id, email, role, org_id, age from users where id = $1'")) {
            assertThat(rs.next()).as("one named statement for the read").isTrue();
            assertThat(rs.getLong(1)).isEqualTo(3);
            assertThat(rs.next()).isFalse();
        }
        pool.close();
    }

    @Test
    void anUnreachableDatabaseIsJdbisConnectionExceptionThatReadsTreatsAsUnreachable() {
        DataSource pool = pool("jdbc:postgresql://127.0.0.1:1/nowhere?connectTimeout=1", "1");
        assertThatThrownBy(() -> dao(pool).findById(1))
                .isInstanceOf(ConnectionException.class)
                .satisfies(e -> assertThat(SqlStates.isUnreachable(e)).isTrue());
        pool.close();
    }
}
