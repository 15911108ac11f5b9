package dev.fortress.auth;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MaxDuration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/** API keys: how long an instance trusts a key it has looked up, and how it records their use (config.yml). */
public class AuthConfiguration {

    /**
     * How long a looked-up key is trusted before it is looked up again: the bound on how long a
     * revoked key keeps working on an instance once the replicas have replayed the revocation.
     */
    @NotNull
    @MinDuration(value = 100, unit = TimeUnit.MILLISECONDS)
    @MaxDuration(value = 5, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration cacheFor;

    /** Keys an instance keeps looked up at once; past it the least used are looked up again. */
    @NotNull
    @Min(1)
    @JsonProperty
    private Integer cachedKeys;

    /** How often an instance writes the last use of the keys it saw to the database. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration lastUseFlushInterval;

    public Duration getCacheFor() {
        return cacheFor;
    }

    public int getCachedKeys() {
        return cachedKeys;
    }

    public Duration getLastUseFlushInterval() {
        return lastUseFlushInterval;
    }
}
