package dev.fortress.users;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.ReadDaoImplementations;
import dev.fortress.testing.ReadDaoImplementations.Implementation;
import dev.fortress.testing.TestDatabase;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.tomcat.jdbc.pool.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link UserReadDao}'s contract, held by the SQL object and {@link JdbcUserReadDao} alike. */
class UserReadDaoContractTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DataSource POOL = DB.pool(DB.url(), 2);
    private static User alice;
    private static User bob;

    @BeforeAll
    static void users() {
        UserWriteDao users = DB.jdbi().onDemand(UserWriteDao.class);
        alice = users.create(new NewUser("alice@contract.io", "admin", 31L, 41));
        bob = users.create(new NewUser("bob@contract.io", "viewer", 32L, 42));
    }

    @AfterAll
    static void close() {
        POOL.close();
    }

    static Stream<Implementation<UserReadDao>> implementations() {
        return ReadDaoImplementations.both(POOL, UserReadDao.class, JdbcUserReadDao::new);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void findByIdFindsTheUserOrNothingTimedUnderItsName(Implementation<UserReadDao> reads) {
        assertThat(reads.dao().findById(alice.id()))
                .contains(new User(alice.id(), "alice@contract.io", "admin", 31, 41));
        assertThat(reads.dao().findById(Long.MAX_VALUE)).isEqualTo(Optional.empty());
        assertThat(reads.timed("UserReadDao.findById")).isEqualTo(2);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void theWarmUpsQueriesSeeOnlyWhatTheyAskFor(Implementation<UserReadDao> reads) {
        assertThat(reads.dao().sampleIds(31, 10)).containsExactly(alice.id());
        assertThat(reads.dao().sampleIds(33, 10)).isEmpty();
        assertThat(reads.dao().otherOrgsUser(31)).contains(bob.id());
        assertThat(reads.dao().anyOrg())
                .hasValueSatisfying(org -> assertThat(org).isIn(31L, 32L));
        assertThat(reads.timed("UserReadDao.sampleIds")).isEqualTo(2);
    }
}
