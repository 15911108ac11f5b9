package dev.fortress.users;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import dev.fortress.testing.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/** The users DAOs on a real PostgreSQL built from the real changelog. */
class UserDaosTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final String FIND_BY_ID_SQL = "select id, email, role, org_id, age from users where id = $1";

    private final MetricRegistry metrics = new MetricRegistry();

    private Jdbi jdbi(String prepareThreshold) {
        Properties props = new Properties();
        props.setProperty("prepareThreshold", prepareThreshold);
        return Databases.configure(DB.jdbi(props), new StatementMetrics(metrics, "reader", Duration.ofSeconds(1)));
    }

    @Test
    void createdUserIsFoundById() {
        Jdbi jdbi = jdbi("1");
        User created = jdbi.onDemand(UserWriteDao.class).create(new NewUser("dao-one@x.io", "admin", 7L, 31));

        assertThat(created.id()).isPositive();
        assertThat(jdbi.onDemand(UserReadDao.class).findById(created.id()))
                .contains(new User(created.id(), "dao-one@x.io", "admin", 7, 31));
    }

    @Test
    void findByIdIsEmptyForMissingUser() {
        assertThat(jdbi("1").onDemand(UserReadDao.class).findById(Long.MAX_VALUE))
                .isEmpty();
    }

    @Test
    void duplicateEmailInAnyCaseInTheOrganisationIsRejectedAndNothingIsWritten() {
        UserWriteDao dao = jdbi("1").onDemand(UserWriteDao.class);
        dao.create(new NewUser("Dup@Example.io", "member", 1L, 20));

        assertThatThrownBy(() -> dao.create(new NewUser("dup@example.IO", "viewer", 1L, 40)))
                .isInstanceOf(DuplicateEmailException.class)
                .hasMessage("a user with email dup@example.IO already exists");
        Integer rows = DB.jdbi()
                .withHandle(h -> h.select("select count(*) from users where lower(email) = 'dup@example.io'")
                        .mapTo(Integer.class)
                        .one());
        assertThat(rows).isEqualTo(1);
    }

    @Test
    void theSameEmailInAnotherOrganisationIsAnotherUser() {
        UserWriteDao dao = jdbi("1").onDemand(UserWriteDao.class);
        User first = dao.create(new NewUser("Both@Example.io", "member", 1L, 20));

        User second = dao.create(new NewUser("both@example.IO", "viewer", 2L, 40));

        assertThat(second.id()).isNotEqualTo(first.id());
        assertThat(second.orgId()).isEqualTo(2);
    }

    @Test
    void databaseRejectsWhatValidationShouldHaveCaught() {
        UserWriteDao dao = jdbi("1").onDemand(UserWriteDao.class);
        assertThatThrownBy(() -> dao.create(new NewUser("old@x.io", "member", 1L, 151)))
                .hasMessageContaining("users_age_check");
        assertThatThrownBy(() -> dao.create(new NewUser("root@x.io", "root", 1L, 30)))
                .hasMessageContaining("users_role_check");
    }

    @Test
    void theWarmupsSampleIsOfOneOrganisationAndItsCrossTenantReadOfAnother() {
        Jdbi jdbi = jdbi("1");
        UserWriteDao writes = jdbi.onDemand(UserWriteDao.class);
        long mine = writes.create(new NewUser("sample-mine@x.io", "member", 11L, 30))
                .id();
        long theirs = writes.create(new NewUser("sample-theirs@x.io", "member", 12L, 30))
                .id();
        UserReadDao reads = jdbi.onDemand(UserReadDao.class);

        assertThat(reads.sampleIds(11, 1_000)).containsExactly(mine);
        assertThat(reads.sampleIds(12, 1_000)).containsExactly(theirs);
        long other = reads.otherOrgsUser(11).orElseThrow();
        assertThat(reads.findById(other).orElseThrow().orgId()).isNotEqualTo(11);
        assertThat(reads.anyOrg()).isPresent();
    }

    @Test
    void hotReadIsOneServerPreparedStatementReusedFromTheFirstExecution() {
        // One named statement on the connection, planned for each of the three executions.
        assertThat(preparedExecutionsAfterThreeReads("1", "prep@x.io")).containsExactly(3L);
    }

    @Test
    void withPrepareThresholdZeroNothingIsServerPrepared() {
        assertThat(preparedExecutionsAfterThreeReads("0", "unnamed@x.io")).isEmpty();
    }

    @Test
    void everyStatementIsTimedUnderItsDatasourceAndName() {
        jdbi("1").onDemand(UserReadDao.class).findById(1);

        assertThat(metrics.timer("dev.fortress.db.reader.UserReadDao.findById").getCount())
                .isEqualTo(1);
    }

    /** Reads one user three times on one connection; returns pg_prepared_statements' count for the read. */
    private List<Long> preparedExecutionsAfterThreeReads(String prepareThreshold, String email) {
        Jdbi jdbi = jdbi(prepareThreshold);
        long id = jdbi.onDemand(UserWriteDao.class)
                .create(new NewUser(email, "member", 3L, 50))
                .id();
        return jdbi.withHandle(h -> {
            UserReadDao dao = h.attach(UserReadDao.class);
            for (int i = 0; i < 3; i++) {
                assertThat(dao.findById(id)).isPresent();
            }
            return h.createQuery("select generic_plans + custom_plans from pg_prepared_statements "
                            + "where statement = :sql")
                    .bind("sql", FIND_BY_ID_SQL)
                    .mapTo(Long.class)
                    .list();
        });
    }
}
