package dev.fortress.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.ConfigurationValidationException;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

/** {@code redis.sentinels} as an operator writes it: a YAML list, REDIS_SENTINELS's one string, or nothing. */
class RedisConfigurationTest {

    private static final String REST = """
            url: redis://127.0.0.1:6379/3
            sentinelTimeout: 250ms
            maxTotal: 8
            minIdle: 1
            connectTimeout: 250ms
            timeout: 100ms
            borrowTimeout: 50ms
            breakerFailures: 5
            breakerOpenFor: 5s
            """;

    private static RedisConfiguration parse(String yaml) throws Exception {
        return new YamlConfigurationFactory<>(
                        RedisConfiguration.class, Validators.newValidator(), Jackson.newObjectMapper(), "redis")
                .build(path -> new ByteArrayInputStream((REST + yaml).getBytes(StandardCharsets.UTF_8)), "redis.yml");
    }

    @Test
    void emptyOrAbsentSentinelsMeanTheUrlsHost() throws Exception {
        assertThat(parse("sentinels:\nmasterName: fortress\n").usesSentinels()).isFalse(); // ${REDIS_SENTINELS:-}
        assertThat(parse("masterName:\n").usesSentinels()).isFalse();
    }

    @Test
    void aCommaSeparatedStringAndAListGiveTheSameSentinels() throws Exception {
        RedisConfiguration fromEnv = parse("sentinels: 10.0.0.1:26379, 10.0.0.2:26380,redis3:26381\nmasterName: m\n");
        RedisConfiguration fromList =
                parse("sentinels: [10.0.0.1:26379, 10.0.0.2:26380, redis3:26381]\nmasterName: m\n");

        assertThat(fromEnv.sentinelAddresses())
                .containsExactly(
                        new HostAndPort("10.0.0.1", 26379),
                        new HostAndPort("10.0.0.2", 26380),
                        new HostAndPort("redis3", 26381));
        assertThat(fromList.sentinelAddresses()).isEqualTo(fromEnv.sentinelAddresses());
    }

    @Test
    void sentinelsNeedAMasterNameAndAPortEach() {
        assertThatThrownBy(() -> parse("sentinels: 10.0.0.1:26379\nmasterName: ''\n"))
                .isInstanceOf(ConfigurationValidationException.class)
                .hasMessageContaining("redis.sentinels must each be host:port, and need redis.masterName");
        assertThatThrownBy(() -> parse("sentinels: 10.0.0.1\nmasterName: m\n"))
                .isInstanceOf(ConfigurationValidationException.class)
                .hasMessageContaining("redis.sentinels must each be host:port");
    }
}
