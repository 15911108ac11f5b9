package dev.fortress.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.health.HealthCheck;
import dev.fortress.testing.OwnedProcesses;
import io.dropwizard.jackson.Jackson;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every Sentinel down at start-up: Fortress starts, fails open, and says what to check. */
class SentinelsDownTest {

    private final MetricRegistry metrics = new MetricRegistry();
    private final String sentinels =
            "127.0.0.1:" + OwnedProcesses.freePort() + ",127.0.0.1:" + OwnedProcesses.freePort();
    private final Redis redis = new Redis(
            Jackson.newObjectMapper()
                    .convertValue(
                            Map.ofEntries(
                                    Map.entry("url", "redis://127.0.0.1:6379"),
                                    Map.entry("sentinels", sentinels),
                                    Map.entry("masterName", "fortress"),
                                    Map.entry("sentinelTimeout", "250ms"),
                                    Map.entry("maxTotal", 4),
                                    Map.entry("minIdle", 0),
                                    Map.entry("connectTimeout", "250ms"),
                                    Map.entry("timeout", "100ms"),
                                    Map.entry("borrowTimeout", "50ms"),
                                    Map.entry("breakerFailures", 5),
                                    Map.entry("breakerOpenFor", "5s")),
                            RedisConfiguration.class),
            metrics); // nothing listens on those ports

    @AfterEach
    void stop() {
        redis.stop();
    }

    @Test
    void withEverySentinelDownACallIsAFailureAnsweredEmptyAndTheHealthCheckSaysWhatToAsk() {
        assertThat(redis.master()).as("no master known").isNull();

        assertThat(redis.call("get", j -> j.get("k"))).isEmpty();
        assertThat(redis.call("get", j -> j.get("k")))
                .as("asked again only after breakerOpenFor")
                .isEmpty();
        HealthCheck.Result health = new RedisHealthCheck(redis).execute();

        assertThat(metrics.meter("dev.fortress.cache.redis.errors").getCount()).isEqualTo(2);
        assertThat(health.isHealthy()).isFalse();
        assertThat(health.getMessage())
                .startsWith("degraded: redis at (unknown), master 'fortress' per the Sentinels")
                .contains("sentinel get-master-addr-by-name fortress");
        assertThat(metrics.meter("dev.fortress.cache.redis.master-changes").getCount())
                .isZero();
    }
}
