package dev.fortress.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.auth.ApiKeyStore;
import dev.fortress.auth.Scopes;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.ChildFortress;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 23's acceptance: a key's rate holds across two instances sharing Redis. One instance in this
 * JVM, one in a JVM of its own (as deployed: ChildFortress, configured only through the environment),
 * both on the shared Redis under the test database's namespace. A key of 5/s (bursts of 10, as many
 * seconds of it as config.yml's default burst is of its rate) sends its requests to both in turn, as
 * fast as the test can: together they admit at most the burst plus the rate times the measured
 * elapsed time, plus 10% (the bound), while two instances limiting on their own would admit
 * twice the burst at once. No time is asserted, only counts.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class RateLimitAcrossInstancesFaultTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> FIRST = FortressApp.on(DB);
    private static final long ORG = 51;
    private static final double RATE = 5.0;
    private static final int BURST = 10;
    private static final int REQUESTS = 120;

    @Test
    void twoInstancesTogetherAdmitNoMoreThanTheKeysRate() {
        String key = new ApiKeyStore(DB.jdbi())
                .create(ORG, Set.of(Scopes.READ), null, RATE)
                .key();
        Map<String, String> env = ChildFortress.environment(DB);
        try (ChildFortress second = ChildFortress.start("rate-limit-second", env)) {
            Http[] instances = {
                new Http("127.0.0.1", FIRST.getLocalPort()).as(key),
                second.api().as(key)
            };
            int[] admitted = new int[2];
            int[] refused = new int[2];
            long started = System.nanoTime();
            for (int i = 0; i < REQUESTS; i++) {
                int status = instances[i % 2]
                        .get(i % 4 < 2 ? "/orgs/" + ORG + "/stats" : "/transactions")
                        .statusCode();
                assertThat(status).as("request %d", i).isIn(200, 429);
                if (status == 200) {
                    admitted[i % 2]++;
                } else {
                    refused[i % 2]++;
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;

            long limit = BURST + (long) Math.ceil(seconds * RATE);
            int together = admitted[0] + admitted[1];
            assertThat(together)
                    .as(
                            "admitted by both (%d + %d) of %d in %.2f s; the key's limit in that time is %d",
                            admitted[0], admitted[1], REQUESTS, seconds, limit)
                    .isGreaterThanOrEqualTo(BURST)
                    .isLessThanOrEqualTo((int) Math.floor(limit * 1.1));
            assertThat(refused[0]).as("this instance refused some").isPositive();
            assertThat(refused[1]).as("the other instance refused some").isPositive();
            assertThat(new AdminMetrics(FIRST.getAdminPort()).meter("dev.fortress.ratelimit.redis-fallbacks"))
                    .as("every decision of this instance was Redis's")
                    .isZero();
            assertThat(new AdminMetrics(second.adminPort()).meter("dev.fortress.ratelimit.limited.key"))
                    .as("the second instance's own count of its 429s")
                    .isEqualTo(refused[1]);
        }
    }
}
