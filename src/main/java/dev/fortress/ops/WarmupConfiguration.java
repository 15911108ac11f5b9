package dev.fortress.ops;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;

/** The warm-up phase before readiness turns 200 (see {@link Warmup}); values in config.yml. */
public class WarmupConfiguration {

    @NotNull
    @JsonProperty
    private Boolean enabled;

    /** Readiness waits at most this long for warm-up, whatever the JIT is still doing. */
    @NotNull
    @JsonProperty
    private Duration maxDuration;

    /** Warm-up never ends before this many requests, so each hot path is compiled, not just loaded. */
    @NotNull
    @Min(0)
    @JsonProperty
    private Integer minRequests;

    /** Client threads: few, so the JIT's compiler threads keep the cores the requests leave. */
    @NotNull
    @Min(1)
    @Max(64)
    @JsonProperty
    private Integer concurrency;

    public boolean isEnabled() {
        return enabled;
    }

    public Duration getMaxDuration() {
        return maxDuration;
    }

    public int getMinRequests() {
        return minRequests;
    }

    public int getConcurrency() {
        return concurrency;
    }
}
