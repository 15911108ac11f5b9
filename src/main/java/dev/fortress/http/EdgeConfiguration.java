package dev.fortress.http;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDataSize;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/**
 * What one client, or all of them together, may hold of the application port (config.yml {@code edge:},
 * the reasons beside each value there). The admin port is not limited: it is loopback unless told.
 */
public class EdgeConfiguration {

    /** Connections open at once on the application port; past it Jetty stops accepting until one closes. */
    @NotNull
    @Min(1)
    @JsonProperty
    private Integer maxConnections;

    /** Connections open at once from one client address; past it a new one is closed at once. 0: no bound. */
    @NotNull
    @Min(0)
    @JsonProperty
    private Integer maxConnectionsPerAddress;

    /** From the first byte of a request, its request line and headers must have arrived within this. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration headerTimeout;

    /** A request body, and a response the client is not reading, must move at least this fast... */
    @NotNull
    @MinDataSize(1)
    @JsonProperty
    private DataSize minDataPerSecond;

    /** ...averaged from its start, once it has lasted this long. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration minDataRateGrace;

    /** A body up to this size is read without a thread, before any resource runs; a larger one is read as it is used. */
    @NotNull
    @MinDataSize(1024)
    @JsonProperty
    private DataSize bodyReadAhead;

    /** Requests in a row a connection may send ahead of their answers; the next gets 503 and the connection closes. */
    @NotNull
    @Min(1)
    @JsonProperty
    private Integer maxPipelinedRequests;

    public int getMaxPipelinedRequests() {
        return maxPipelinedRequests;
    }

    /** Requests handled at once; past it they wait (below), then get 503. */
    @NotNull
    @Min(1)
    @JsonProperty
    private Integer maxConcurrentRequests;

    /** Requests that may wait for a place at once; past it a request gets 503 at once. */
    @NotNull
    @Min(0)
    @JsonProperty
    private Integer maxQueuedRequests;

    /** How long a request may wait for a place before it gets 503. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.MILLISECONDS)
    @JsonProperty
    private Duration maxQueueWait;

    /**
     * A request with the key of a caller already refused for its rate (until its bucket admits again)
     * is answered 429 here, at the edge, after this long; 0: at once.
     */
    @NotNull
    @JsonProperty
    private Duration refusalDelay;

    /** Refused requests held for {@code refusalDelay} at once; past it the oldest is answered at once. */
    @NotNull
    @Min(1)
    @JsonProperty
    private Integer maxDelayedRefusals;

    public Duration getRefusalDelay() {
        return refusalDelay;
    }

    public int getMaxDelayedRefusals() {
        return maxDelayedRefusals;
    }

    public int getMaxConnections() {
        return maxConnections;
    }

    public int getMaxConnectionsPerAddress() {
        return maxConnectionsPerAddress;
    }

    public Duration getHeaderTimeout() {
        return headerTimeout;
    }

    public DataSize getMinDataPerSecond() {
        return minDataPerSecond;
    }

    public Duration getMinDataRateGrace() {
        return minDataRateGrace;
    }

    public DataSize getBodyReadAhead() {
        return bodyReadAhead;
    }

    public int getMaxConcurrentRequests() {
        return maxConcurrentRequests;
    }

    public int getMaxQueuedRequests() {
        return maxQueuedRequests;
    }

    public Duration getMaxQueueWait() {
        return maxQueueWait;
    }
}
