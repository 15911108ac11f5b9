package dev.fortress.users;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.TestDatabase;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

class UserSeederTest {

    private static final TestDatabase DB = TestDatabase.create();

    @Test
    void seedsExactlyTheRequestedUsersOverTheOrgsAndNeverCollides() {
        Jdbi jdbi = DB.jdbi();
        jdbi.useHandle(h ->
                h.execute("insert into users (email, role, org_id, age) values ('someone@else.io', 'admin', 99, 40)"));

        assertThat(new UserSeeder(jdbi).seed(5_000, 10)).isEqualTo(5_000);
        assertThat(new UserSeeder(jdbi).seed(3_000, 10)).isEqualTo(3_000);

        Map<String, Object> stats =
                jdbi.withHandle(h -> h.createQuery("""
                select count(*) as users, count(distinct lower(email)) as emails,
                       min(org_id) filter (where email like 'seed-%') as min_org,
                       max(org_id) filter (where email like 'seed-%') as max_org,
                       count(*) filter (where org_id = 99) as untouched
                from users""").mapToMap().one());
        assertThat(stats)
                .containsEntry("users", 8_001L)
                .containsEntry("emails", 8_001L)
                .containsEntry("min_org", 1L)
                .containsEntry("max_org", 10L)
                .containsEntry("untouched", 1L);
    }
}
