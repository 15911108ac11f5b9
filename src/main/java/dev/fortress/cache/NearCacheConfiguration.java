package dev.fortress.cache;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/** An instance's in-process copy of a Redis cache ({@link NearCache}) and its subscription ({@link Invalidations}). */
public class NearCacheConfiguration {

    @NotNull
    @JsonProperty
    private Boolean enabled;

    @NotNull
    @Min(1)
    @JsonProperty
    private Integer maxEntries;

    /** Longest an entry is kept, whatever the invalidations say. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.MILLISECONDS)
    @JsonProperty
    private Duration ttl;

    /** How often the subscription is checked with a PING, and made again when it is down. */
    @NotNull
    @MinDuration(value = 10, unit = TimeUnit.MILLISECONDS)
    @JsonProperty
    private Duration heartbeat;

    public boolean isEnabled() {
        return enabled;
    }

    public int getMaxEntries() {
        return maxEntries;
    }

    public Duration getTtl() {
        return ttl;
    }

    public Duration getHeartbeat() {
        return heartbeat;
    }
}
