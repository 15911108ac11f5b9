package dev.fortress.idempotency;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/** How long Idempotency-Keys are kept, and when the expired ones are purged (defaults in config.yml). */
public class IdempotencyConfiguration {

    /** A key repeated within this time replays its answer; after it, the key is forgotten. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration retention;

    /** When expired keys are deleted (JobRunr cron, UTC). */
    @NotBlank
    @JsonProperty
    private String purgeCron;

    public Duration getRetention() {
        return retention;
    }

    public String getPurgeCron() {
        return purgeCron;
    }
}
