package dev.fortress.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.ReadDaoImplementations;
import dev.fortress.testing.ReadDaoImplementations.Implementation;
import dev.fortress.testing.TestDatabase;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.tomcat.jdbc.pool.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ApiKeyReadDao}'s contract, held by the SQL object and {@link JdbcApiKeyReadDao} alike. */
class ApiKeyReadDaoContractTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DataSource POOL = DB.pool(DB.url(), 2);
    private static final Instant EXPIRES =
            Instant.now().plus(30, ChronoUnit.DAYS).truncatedTo(ChronoUnit.MICROS);
    private static ApiKeyStore.Created live;
    private static ApiKeyStore.Created revoked;
    private static ApiKeyStore.Created expired;

    @BeforeAll
    static void keys() {
        ApiKeyStore keys = new ApiKeyStore(DB.jdbi());
        live = keys.create(61, Set.of(Scopes.READ, Scopes.WRITE), EXPIRES, 25.0);
        revoked = keys.create(61, Set.copyOf(Scopes.ALL), null);
        expired = keys.create(61, Set.copyOf(Scopes.ALL), Instant.now().minusSeconds(60));
        keys.revoke(revoked.key()).orElseThrow();
    }

    @AfterAll
    static void close() {
        POOL.close();
    }

    static Stream<Implementation<ApiKeyReadDao>> implementations() {
        return ReadDaoImplementations.both(POOL, ApiKeyReadDao.class, JdbcApiKeyReadDao::new);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void findGivesTheCallerOfALiveKeyOnly(Implementation<ApiKeyReadDao> reads) {
        assertThat(reads.dao().find(ApiKeyFormat.hash(live.key())))
                .contains(new Caller(
                        live.id(),
                        61,
                        Set.of(Scopes.READ, Scopes.WRITE),
                        ApiKeyFormat.shown(live.key()),
                        EXPIRES,
                        25.0));
        assertThat(reads.dao().find(ApiKeyFormat.hash(revoked.key())))
                .as("revoked")
                .isEmpty();
        assertThat(reads.dao().find(ApiKeyFormat.hash(expired.key())))
                .as("expired")
                .isEmpty();
        assertThat(reads.dao().find(new byte[32])).as("unknown").isEmpty();
        assertThat(reads.timed("ApiKeyReadDao.find")).isEqualTo(4);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void revokedWithinNamesTheKeysRevokedLately(Implementation<ApiKeyReadDao> reads) {
        assertThat(reads.dao().revokedWithin(3600)).containsExactly(revoked.id());
        assertThat(reads.timed("ApiKeyReadDao.revokedWithin")).isEqualTo(1);
    }
}
