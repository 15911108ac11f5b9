package dev.fortress;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.auth.ApiKeyFormat;
import dev.fortress.testing.Commands;
import dev.fortress.testing.TestDatabase;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/** {@code keys create|list|revoke ... config.yml}, run through the same CLI as the jar. */
class KeysCommandTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final Jdbi JDBI = DB.jdbi();

    private static Commands.Result keys(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "keys";
        System.arraycopy(args, 0, all, 1, args.length);
        return Commands.run(Commands.on(DB), all);
    }

    private static long count(String sql) {
        return JDBI.withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    @Test
    void createPrintsTheKeyOnceAloneOnItsLastLineAndStoresOnlyItsHash() {
        Commands.Result created = keys("create", "--org", "7", "--scopes", "read,write,import", "--expires", "90d");

        assertThat(created.failure()).as(created.err()).isEmpty();
        String key = created.lastLine();
        assertThat(ApiKeyFormat.wellFormed(key)).as(key).isTrue();
        Map<String, Object> row = JDBI.withHandle(h -> h.createQuery("select org_id, prefix, hash, "
                        + "array_to_string(scopes, ',') as scopes, expires_at > now() + interval '89 days' as ninety_days "
                        + "from api_keys where prefix = :prefix")
                .bind("prefix", ApiKeyFormat.shown(key))
                .mapToMap()
                .one());
        assertThat(row)
                .containsEntry("org_id", 7L)
                .containsEntry("scopes", "read,write,import")
                .containsEntry("ninety_days", true)
                .containsEntry("hash", ApiKeyFormat.hash(key));
        long stored = JDBI.withHandle(h -> h.createQuery("select count(*) from api_keys where "
                        + "position(:key in prefix) > 0 or encode(hash, 'escape') like '%' || :key || '%'")
                .bind("key", key)
                .mapTo(Long.class)
                .one());
        assertThat(stored).as("the key itself is stored nowhere").isZero();
    }

    @Test
    void createWithARangeMakesOneKeyPerOrganisationOneLineEach() {
        Commands.Result created = keys("create", "--org", "101-105", "--scopes", "read");

        assertThat(created.failure()).as(created.err()).isEmpty();
        List<String> lines =
                created.lines().stream().filter(l -> l.matches("\\d+ fk_\\S+")).toList();
        assertThat(lines).hasSize(5);
        for (int i = 0; i < 5; i++) {
            String[] parts = lines.get(i).split(" ");
            assertThat(parts[0]).isEqualTo(Long.toString(101 + i));
            assertThat(ApiKeyFormat.wellFormed(parts[1])).isTrue();
        }
        assertThat(count("select count(distinct org_id) from api_keys where org_id between 101 and 105"))
                .isEqualTo(5);
    }

    @Test
    void listShowsPrefixesScopesAndStateNeverTheKey() {
        String key = keys("create", "--org", "8", "--scopes", "read").lastLine();
        String revoked = keys("create", "--org", "8", "--scopes", "write,admin").lastLine();
        assertThat(keys("revoke", revoked, "--wait", "0s").failure()).isEmpty();

        Commands.Result listed = keys("list", "--org", "8");

        assertThat(listed.failure()).as(listed.err()).isEmpty();
        assertThat(listed.out())
                .doesNotContain(key)
                .doesNotContain(revoked)
                .contains(ApiKeyFormat.shown(key) + "...")
                .contains(ApiKeyFormat.shown(revoked) + "...")
                .contains("2 key(s) of organisation 8");
        assertThat(listed.lines())
                .anySatisfy(l -> assertThat(l)
                        .contains(ApiKeyFormat.shown(key))
                        .contains("read")
                        .endsWith("active"));
        assertThat(listed.lines())
                .anySatisfy(l -> assertThat(l)
                        .contains(ApiKeyFormat.shown(revoked))
                        .contains("write,admin")
                        .contains("revoked"));
    }

    @Test
    void revokeTakesTheKeyOrItsIdAndAnUnknownOneFails() {
        String byKey = keys("create", "--org", "9", "--scopes", "read").lastLine();
        String byId = keys("create", "--org", "9", "--scopes", "read").lastLine();
        long id = JDBI.withHandle(h -> h.createQuery("select id from api_keys where prefix = :p")
                .bind("p", ApiKeyFormat.shown(byId))
                .mapTo(Long.class)
                .one());

        Commands.Result first = keys("revoke", byKey, "--wait", "0s");
        Commands.Result second = keys("revoke", Long.toString(id), "--wait", "0s");

        assertThat(first.failure()).as(first.err()).isEmpty();
        assertThat(first.out())
                .contains("revoked key")
                .contains("of organisation 9")
                .doesNotContain(byKey);
        assertThat(second.failure()).as(second.err()).isEmpty();
        assertThat(count("select count(*) from api_keys where org_id = 9 and revoked_at is not null"))
                .isEqualTo(2);
        assertThat(keys("revoke", "999999", "--wait", "0s").failure()).isPresent();
        assertThat(keys("revoke", ApiKeyFormat.generate(new java.security.SecureRandom()), "--wait", "0s")
                        .failure())
                .isPresent();
    }

    @Test
    void badArgumentsAreRefusedAndCreateNothing() {
        long before = count("select count(*) from api_keys");

        assertThat(keys("create", "--org", "0", "--scopes", "read").failure())
                .as("org 0")
                .isPresent();
        assertThat(keys("create", "--org", "-3", "--scopes", "read").failure())
                .as("a negative org")
                .isPresent();
        assertThat(keys("create", "--org", "5-1", "--scopes", "read").failure())
                .as("an empty range")
                .isPresent();
        assertThat(keys("create", "--org", "1-200000", "--scopes", "read").failure())
                .as("a range too big")
                .isPresent();
        assertThat(keys("create", "--org", "7", "--scopes", "read,root").failure())
                .as("an unknown scope")
                .isPresent();
        assertThat(keys("create", "--org", "7", "--scopes", "").failure())
                .as("no scope")
                .isPresent();
        assertThat(keys("create", "--org", "7", "--scopes", "read", "--expires", "soon")
                        .failure())
                .as("an expiry that is no duration")
                .isPresent();
        assertThat(keys("revoke", "not-a-key", "--wait", "0s").failure())
                .as("neither id nor key")
                .isPresent();

        assertThat(count("select count(*) from api_keys")).isEqualTo(before);
    }
}
