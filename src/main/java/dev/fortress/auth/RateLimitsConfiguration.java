package dev.fortress.auth;

import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

/** Per-caller limits ({@link RateLimiter}, config.yml's {@code rateLimits}, docs/api.md "Limits"). */
public class RateLimitsConfiguration {

    /** The largest rate a key or a default may have: beyond it, a limit means nothing on one machine. */
    public static final double MAX_RATE = 1_000_000.0;

    /** A key's request rate across all instances, unless the key has its own ({@code keys create --rate}). */
    @NotNull
    @DecimalMin(value = "0", inclusive = false)
    @DecimalMax(value = "" + RateLimitsConfiguration.MAX_RATE)
    @JsonProperty
    private Double requestsPerSecond;

    /**
     * Requests a key may send at once above its rate; a key with a rate of its own gets the same
     * number of seconds' worth ({@code burst / requestsPerSecond} seconds of its rate, at least 1).
     */
    @NotNull
    @Min(1)
    @JsonProperty
    private Integer burst;

    /** Requests of one key this instance serves at once (per instance, not shared). */
    @NotNull
    @Min(1)
    @JsonProperty
    private Integer maxInFlight;

    /** Requests per second from one client address without a valid key (401s included), across all instances. */
    @NotNull
    @DecimalMin(value = "0", inclusive = false)
    @DecimalMax(value = "" + RateLimitsConfiguration.MAX_RATE)
    @JsonProperty
    private Double unauthenticatedRequestsPerSecond;

    @NotNull
    @Min(1)
    @JsonProperty
    private Integer unauthenticatedBurst;

    /** The start of every Redis key of the limits: instances that share limits share it. */
    @NotEmpty
    @Pattern(regexp = "[A-Za-z0-9_.:-]{1,64}")
    @JsonProperty
    private String namespace;

    /** Callers each instance tracks on its own while Redis is away; past it the least recent are forgotten. */
    @NotNull
    @Min(1)
    @JsonProperty
    private Integer localBuckets;

    /** A copy under another {@link #getNamespace namespace} (tests that share a Redis but not a database). */
    public RateLimitsConfiguration withNamespace(String other) {
        RateLimitsConfiguration copy = new RateLimitsConfiguration();
        copy.requestsPerSecond = requestsPerSecond;
        copy.burst = burst;
        copy.maxInFlight = maxInFlight;
        copy.unauthenticatedRequestsPerSecond = unauthenticatedRequestsPerSecond;
        copy.unauthenticatedBurst = unauthenticatedBurst;
        copy.namespace = other;
        copy.localBuckets = localBuckets;
        return copy;
    }

    public double getRequestsPerSecond() {
        return requestsPerSecond;
    }

    public int getBurst() {
        return burst;
    }

    public int getMaxInFlight() {
        return maxInFlight;
    }

    public double getUnauthenticatedRequestsPerSecond() {
        return unauthenticatedRequestsPerSecond;
    }

    public int getUnauthenticatedBurst() {
        return unauthenticatedBurst;
    }

    public String getNamespace() {
        return namespace;
    }

    public int getLocalBuckets() {
        return localBuckets;
    }
}
