package dev.fortress.db;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.NotNull;

/** How stale the reader may be before reads go to the writer, and how often that is measured. */
public class ReplicaConfiguration {

    @NotNull
    @JsonProperty
    private DataSize maxLag = DataSize.mebibytes(16);

    @NotNull
    @JsonProperty
    private Duration maxLagTime = Duration.seconds(5);

    @NotNull
    @JsonProperty
    private Duration checkInterval = Duration.seconds(1);

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
