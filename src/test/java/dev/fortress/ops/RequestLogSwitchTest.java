package dev.fortress.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FortressApp;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import io.dropwizard.request.logging.RequestLogFactory;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.text.StringSubstitutor;
import org.junit.jupiter.api.Test;

/** config.yml's access-log switch, read the way the server reads it, with REQUEST_LOG set or not. */
class RequestLogSwitchTest {

    @Test
    void accessLogIsOffWhenRequestLogIsUnset() throws Exception {
        assertThat(requestLog(Map.of()).isEnabled()).isFalse();
    }

    @Test
    void accessLogIsOnWhenRequestLogIsTrue() throws Exception {
        RequestLogFactory<?> log = requestLog(Map.of("REQUEST_LOG", "true"));
        assertThat(log).isInstanceOf(SwitchableRequestLogFactory.class);
        assertThat(log.isEnabled()).isTrue();
        assertThat(((SwitchableRequestLogFactory) log).getAppenders()).hasSize(1);
    }

    @Test
    void accessLogIsOffWhenRequestLogIsFalse() throws Exception {
        assertThat(requestLog(Map.of("REQUEST_LOG", "false")).isEnabled()).isFalse();
    }

    private static RequestLogFactory<?> requestLog(Map<String, String> env) throws Exception {
        // Only the variables given: the machine's own environment must not decide the outcome.
        Map<String, String> vars = new HashMap<>(env);
        StringSubstitutor substitutor = new StringSubstitutor(vars);
        FortressConfiguration config = new YamlConfigurationFactory<>(
                        FortressConfiguration.class, Validators.newValidator(), Jackson.newObjectMapper(), "dw")
                .build(
                        new SubstitutingSourceProvider(new FileConfigurationSourceProvider(), substitutor),
                        FortressApp.configPath());
        return ((DefaultServerFactory) config.getServerFactory()).getRequestLogFactory();
    }
}
