package dev.fortress.orgs;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.NotNull;

public class OrgsConfiguration {

    /** How long an org's stats stay cached (writes to the org invalidate earlier). */
    @NotNull
    @JsonProperty
    private Duration statsTtl = Duration.seconds(300);

    /**
     * Probabilistic early refresh ("XFetch"): 0 turns it off; 1 is the usual; larger refreshes
     * earlier. A hot key is recomputed by one request shortly before it expires, never by all.
     */
    @DecimalMin("0")
    @JsonProperty
    private double earlyRefreshBeta = 1.0;

    public Duration getStatsTtl() {
        return statsTtl;
    }

    public double getEarlyRefreshBeta() {
        return earlyRefreshBeta;
    }
}
