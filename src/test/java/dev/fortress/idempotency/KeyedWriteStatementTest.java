package dev.fortress.idempotency;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fortress.db.SqlStates;
import dev.fortress.testing.TestDatabase;
import dev.fortress.users.UserWriteDao;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.junit.jupiter.api.Test;

/**
 * The keyed statement (IdempotencyStatements/keyedWrite.sql around POST /users' insert) on the
 * real database, where HTTP cannot place a request: between its snapshot and its lock.
 */
class KeyedWriteStatementTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final Jdbi JDBI = DB.jdbi();
    private static final IdempotencyStatements STATEMENTS = new IdempotencyStatements(JDBI, 86_400);
    private static final String SQL = IdempotencyStatements.keyedWrite(UserWriteDao.INSERT_CLAIMED);
    private static final String SCOPE = "POST /users";

    private static IdempotencyStatements.Keyed write(Handle h, String key, byte fingerprint, String email) {
        return STATEMENTS.keyedWrite(h, "test", SQL, 1, SCOPE, key, new byte[] {fingerprint}, 201, (st, first) -> {
            st.setString(first, email);
            st.setString(first + 1, "member");
            st.setLong(first + 2, 1);
            st.setInt(first + 3, 30);
            st.setString(first + 4, "/users/");
        });
    }

    private static long users(String email) {
        return JDBI.withHandle(h -> h.select("select count(*) from users where email = ?", email)
                .mapTo(Long.class)
                .one());
    }

    @Test
    void aKeyStoredAfterTheStatementsSnapshotFailsItsStoreAndUndoesItsInsert() {
        String key = "race-" + UUID.randomUUID();
        try (Handle late = JDBI.open()) {
            // A snapshot taken before the first request commits, as a statement's is in the instant
            // between its start and its lock (held here by a repeatable-read transaction).
            late.begin();
            late.execute("set transaction isolation level repeatable read");
            late.select("select count(*) from idempotency_keys")
                    .mapTo(Long.class)
                    .one();

            IdempotencyStatements.Keyed first = JDBI.withHandle(h -> write(h, key, (byte) 1, "race-first@x.io"));
            assertThat(first.locked()).isTrue();
            assertThat(first.body()).contains("race-first@x.io");

            // The first has committed and let its lock go: the late statement takes the lock, does not
            // see the key, inserts its user, and its store meets the first's key.
            assertThatThrownBy(() -> write(late, key, (byte) 2, "race-second@x.io"))
                    .isInstanceOf(UnableToExecuteStatementException.class)
                    .satisfies(e -> assertThat(SqlStates.isUniqueViolation(e, "idempotency_keys_pkey"))
                            .isTrue());
            late.rollback();
        }
        assertThat(users("race-second@x.io"))
                .as("the late statement's insert went with it")
                .isZero();

        // Run again (IdempotentWrites does), with a snapshot of now: the first's answer, nothing written.
        IdempotencyStatements.Keyed again = JDBI.withHandle(h -> write(h, key, (byte) 2, "race-second@x.io"));
        assertThat(again.locked()).isTrue();
        assertThat(again.earlier()).isNotNull();
        assertThat(again.earlier().fingerprint()).isEqualTo(new byte[] {1});
        assertThat(again.earlier().body()).contains("race-first@x.io");
        assertThat(again.body()).isNull();
        assertThat(users("race-second@x.io")).isZero();
        assertThat(users("race-first@x.io")).isEqualTo(1);
    }

    @Test
    void aKeyHeldByAnotherTransactionWritesNothing() {
        String key = "held-" + UUID.randomUUID();
        try (Handle holder = JDBI.open()) {
            holder.begin();
            IdempotencyStatements.Keyed first = write(holder, key, (byte) 1, "held-first@x.io");
            assertThat(first.body()).contains("held-first@x.io");

            IdempotencyStatements.Keyed second = JDBI.withHandle(h -> write(h, key, (byte) 1, "held-second@x.io"));

            assertThat(second.locked()).isFalse();
            assertThat(second.body()).isNull();
            holder.commit();
        }
        assertThat(users("held-second@x.io")).isZero();
        assertThat(users("held-first@x.io")).isEqualTo(1);
    }
}
