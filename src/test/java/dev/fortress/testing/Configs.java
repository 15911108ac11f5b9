package dev.fortress.testing;

import dev.fortress.FortressConfiguration;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;

/**
 * The real config.yml, read as the application reads it: tests that build one piece on its own
 * take that piece's settings from here, since config.yml is the one place that holds the defaults.
 */
public final class Configs {

    private Configs() {}

    public static FortressConfiguration load() {
        try {
            return new YamlConfigurationFactory<>(
                            FortressConfiguration.class, Validators.newValidator(), Jackson.newObjectMapper(), "dw")
                    .build(
                            new SubstitutingSourceProvider(
                                    new FileConfigurationSourceProvider(), new EnvironmentVariableSubstitutor(true)),
                            FortressApp.configPath());
        } catch (Exception e) {
            throw new IllegalStateException("config.yml does not load", e);
        }
    }
}
