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
     * How long a looked-up key is kept before it is looked up again; a revocation or the key's
     * expiry ends it sooner.
     */
    @NotNull
    @MinDuration(value = 100, unit = TimeUnit.MILLISECONDS)
    @MaxDuration(value = 1, unit = TimeUnit.HOURS)
    @JsonProperty
    private Duration cacheFor;

    /**
     * How often each instance asks for the keys revoked lately. A revoked key is refused within this
     * of the revocation reaching the replicas, and within three of it if the instance cannot ask (it
     * then stops trusting the keys it keeps): at most 1.5 s, so that is within 5 s.
     */
    @NotNull
    @MinDuration(value = 100, unit = TimeUnit.MILLISECONDS)
    @MaxDuration(value = 1500, unit = TimeUnit.MILLISECONDS)
    @JsonProperty
    private Duration revocationCheckInterval;

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

    public Duration getRevocationCheckInterval() {
        return revocationCheckInterval;
    }

    public int getCachedKeys() {
        return cachedKeys;
    }

    public Duration getLastUseFlushInterval() {
        return lastUseFlushInterval;
    }
}
