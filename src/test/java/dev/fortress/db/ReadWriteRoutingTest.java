package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressApplication;
import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Proves where each route runs by what it leaves on the connection that ran it: each pool has
 * exactly one connection here, so that connection's pg_prepared_statements shows every
 * server-prepared statement the pool executed and how many times it was executed.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class ReadWriteRoutingTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            java.util.stream.Stream.concat(
                            java.util.Arrays.stream(FortressApp.oneConnection("writerDatabase")),
                            java.util.Arrays.stream(FortressApp.oneConnection("readerDatabase")))
                    .toArray(ConfigOverride[]::new));

    private static final String FIND_BY_ID = "select id, email, role, org_id, age from users where id = $1";
    private static final String INSERT = "insert into users (email, role, org_id, age) values ($1, $2, $3, $4)";

    @Test
    void getRunsOnTheReaderAsOneServerPreparedStatementAndPostOnTheWriter() throws SQLException {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, 5));
        for (int i = 0; i < 3; i++) {
            Map<String, Object> created = Http.json(api.postJson(
                    "/users", "{\"email\":\"route" + i + "@x.io\",\"role\":\"member\",\"orgId\":5,\"age\":30}"));
            assertThat(api.get("/users/" + created.get("id")).statusCode()).isEqualTo(200);
        }
        for (int i = 0; i < 4; i++) {
            assertThat(api.get("/users/424242").statusCode()).isEqualTo(404);
        }

        Databases databases = APP.<FortressApplication>getApplication().databases();
        DataSource reader = databases.replicas().member(0).dataSource();
        // 7 GETs: one statement, parsed once on the reader's connection, executed 7 times.
        assertThat(executions(reader, FIND_BY_ID)).isEqualTo(7);
        assertThat(executions(reader, INSERT)).isZero();
        // 3 POSTs: the insert ran on the writer's connection; no read went there.
        assertThat(executions(databases.writerDataSource(), INSERT)).isEqualTo(3);
        assertThat(executions(databases.writerDataSource(), FIND_BY_ID)).isZero();
    }

    /**
     * Executions of a server-prepared statement on the pool's single connection, asked on that
     * connection in plain JDBC: the test's question is not one of the application's statements.
     */
    private static long executions(DataSource pool, String sql) throws SQLException {
        try (Connection connection = pool.getConnection();
                PreparedStatement st = connection.prepareStatement(
                        "select coalesce(sum(generic_plans + custom_plans), 0) from pg_prepared_statements "
                                + "where statement like ? || '%'")) {
            st.setString(1, sql);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
