package dev.fortress.cache;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.net.URI;

/** The Redis connection pool, its timeouts (milliseconds matter here) and the circuit breaker. */
public class RedisConfiguration {

    @NotNull
    @JsonProperty
    private URI url;

    @NotNull
    @Min(1)
    @JsonProperty
    private Integer maxTotal;

    @NotNull
    @Min(0)
    @JsonProperty
    private Integer minIdle;

    @NotNull
    @JsonProperty
    private Duration connectTimeout;

    /** Longest wait for a Redis answer; a request pays at most this before falling back to the database. */
    @NotNull
    @JsonProperty
    private Duration timeout;

    /** Longest wait for a free pooled connection. */
    @NotNull
    @JsonProperty
    private Duration borrowTimeout;

    /** Consecutive failures that open the breaker (requests then skip Redis entirely). */
    @NotNull
    @Min(1)
    @JsonProperty
    private Integer breakerFailures;

    /** How long the breaker stays open before one request tries Redis again. */
    @NotNull
    @JsonProperty
    private Duration breakerOpenFor;

    public URI getUrl() {
        return url;
    }

    public int getMaxTotal() {
        return maxTotal;
    }

    public int getMinIdle() {
        return minIdle;
    }

    public Duration getConnectTimeout() {
        return connectTimeout;
    }

    public Duration getTimeout() {
        return timeout;
    }

    public Duration getBorrowTimeout() {
        return borrowTimeout;
    }

    public int getBreakerFailures() {
        return breakerFailures;
    }

    public Duration getBreakerOpenFor() {
        return breakerOpenFor;
    }
}
