package dev.fortress.orgs;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.fortress.cache.NearCacheConfiguration;
import io.dropwizard.util.Duration;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.NotNull;

public class OrgsConfiguration {

    /** How long an org's stats stay cached (writes to the org invalidate earlier). */
    @NotNull
    @JsonProperty
    private Duration statsTtl;

    /**
     * Probabilistic early refresh ("XFetch"): 0 turns it off; 1 is the usual; larger refreshes
     * earlier. A hot key is recomputed by one request shortly before it expires, never by all.
     */
    @NotNull
    @DecimalMin("0")
    @JsonProperty
    private Double earlyRefreshBeta;

    /** Each API instance's copy of the stats in front of Redis, invalidated through Redis pub/sub. */
    @NotNull
    @Valid
    @JsonProperty
    private NearCacheConfiguration nearCache;

    public Duration getStatsTtl() {
        return statsTtl;
    }

    public double getEarlyRefreshBeta() {
        return earlyRefreshBeta;
    }

    public NearCacheConfiguration getNearCache() {
        return nearCache;
    }
}
