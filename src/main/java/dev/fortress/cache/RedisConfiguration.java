package dev.fortress.cache;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import redis.clients.jedis.HostAndPort;

/**
 * The Redis connection pool, its timeouts (milliseconds matter here) and the circuit breaker; and,
 * with {@link #sentinels}, the Sentinels that name the master.
 */
public class RedisConfiguration {

    /** The master's address, or with Sentinels only its user, password and database number. */
    @NotNull
    @JsonProperty
    private URI url;

    /**
     * Sentinels to ask for the master, each {@code host:port}, as a list or one comma-separated string
     * (as an environment variable gives it). Empty or absent: the master is {@link #url}'s host.
     */
    @JsonProperty
    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
    private List<String> sentinels;

    /** The name the Sentinels know the master by ({@code sentinel monitor <name> ...}). */
    @JsonProperty
    private String masterName;

    /** Longest wait for a Sentinel to accept a connection, and then to answer. */
    @NotNull
    @JsonProperty
    private Duration sentinelTimeout;

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

    /** The Sentinels' addresses; empty when the master is {@link #url}'s host. */
    public List<HostAndPort> sentinelAddresses() {
        List<HostAndPort> addresses = new ArrayList<>();
        for (String listed : sentinels == null ? List.<String>of() : sentinels) {
            for (String one : listed.split(",")) {
                if (!one.isBlank()) {
                    addresses.add(HostAndPort.from(one.strip()));
                }
            }
        }
        return addresses;
    }

    public boolean usesSentinels() {
        return !sentinelAddresses().isEmpty();
    }

    @ValidationMethod(message = "redis.sentinels must each be host:port, and need redis.masterName")
    @JsonIgnore
    public boolean isSentinelsValid() {
        try {
            return !usesSentinels() || (masterName != null && !masterName.isBlank());
        } catch (RuntimeException e) { // HostAndPort.from: no colon, or no number after it
            return false;
        }
    }

    public String getMasterName() {
        return masterName;
    }

    public Duration getSentinelTimeout() {
        return sentinelTimeout;
    }

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
