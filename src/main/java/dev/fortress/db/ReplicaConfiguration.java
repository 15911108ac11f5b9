package dev.fortress.db;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.NotNull;

/** How stale the reader may be before reads go to the writer, and how often that is measured. */
public class ReplicaConfiguration {

    @NotNull
    @JsonProperty
    private DataSize maxLag;

    @NotNull
    @JsonProperty
    private Duration maxLagTime;

    @NotNull
    @JsonProperty
    private Duration checkInterval;

    public DataSize getMaxLag() {
        return maxLag;
    }

    public Duration getMaxLagTime() {
        return maxLagTime;
    }

    public Duration getCheckInterval() {
        return checkInterval;
    }
}
