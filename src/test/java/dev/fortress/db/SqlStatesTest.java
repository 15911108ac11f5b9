package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.sql.SQLException;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.junit.jupiter.api.Test;

/** Which database failures answer 503 (worth a retry) and which 500 (a bug): the causes the pool and the driver give. */
class SqlStatesTest {

    @Test
    void aConnectionThatCouldNotBeHadIsUnavailableWhateverItsCause() {
        // What the pool threw when its check of a connection it had just opened failed during a writer cut.
        SQLException validation = new SQLException("Failed to validate a newly established connection.");
        assertThat(SqlStates.isUnavailable(new ConnectionException(validation))).isTrue();
        assertThat(SqlStates.isUnavailable(new ConnectionException(
                        new SQLException("refused", "08001", new ConnectException("Connection refused")))))
                .isTrue();
    }

    @Test
    void aStatementThatFailedWithoutAConnectionCauseIsNot() {
        assertThat(SqlStates.isUnavailable(
                        new UnableToExecuteStatementException(new SQLException("syntax error", "42601"), null)))
                .isFalse();
        assertThat(SqlStates.isUnavailable(new UnableToExecuteStatementException(new SQLException("no state"), null)))
                .isFalse();
        assertThat(SqlStates.isUnavailable(new UnableToExecuteStatementException(
                        new SQLException("terminating connection", "57P01"), null)))
                .isTrue();
    }

    @Test
    void onlyPgBouncersRefusalToPassAStatementOnProvesItUnsent() {
        // PgBouncer's wording, older and newer; a server connection lost mid-statement is 08P01 too.
        assertThat(SqlStates.isPoolerLoginFailing(new UnableToExecuteStatementException(
                        new SQLException(
                                "FATAL: server login has been failing, try again later (server_login_retry)", "08P01"),
                        null)))
                .isTrue();
        assertThat(SqlStates.isPoolerLoginFailing(new SQLException(
                        "FATAL: server login has been failing, cached error: connect failed (server_login_retry)",
                        "08P01")))
                .isTrue();
        assertThat(SqlStates.isPoolerLoginFailing(new SQLException("FATAL: server conn crashed?", "08P01")))
                .isFalse();
        assertThat(SqlStates.isPoolerLoginFailing(new SQLException("server login has been failing", "57P01")))
                .isFalse();
    }
}
