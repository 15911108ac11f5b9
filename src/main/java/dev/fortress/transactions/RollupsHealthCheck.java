package dev.fortress.transactions;

import com.codahale.metrics.health.HealthCheck;
import io.dropwizard.util.Duration;
import java.util.function.Supplier;

/**
 * Unhealthy when the oldest write not rolled up is older than the bound: summaries stay exact, but
 * each reads more deltas and slows down. Reads the lag gauge's memoised, time-bounded value, so it
 * never waits for a writer pool that is full. Never throws.
 */
public final class RollupsHealthCheck extends HealthCheck {

    private final Supplier<Double> lagSeconds;
    private final Duration maxLag;

    /** @param lagSeconds the lag gauge's value, null while it cannot be read */
    RollupsHealthCheck(Supplier<Double> lagSeconds, Duration maxLag) {
        this.lagSeconds = lagSeconds;
        this.maxLag = maxLag;
    }

    @Override
    protected Result check() {
        Double lag;
        try {
            lag = lagSeconds.get();
        } catch (RuntimeException e) {
            lag = null;
        }
        if (lag == null) {
            return Result.unhealthy("cannot read the transaction deltas on the writer (see the writer check)");
        }
        if (lag * 1000 > maxLag.toMilliseconds()) {
            return Result.unhealthy(
                    "rollups %.1f s behind the oldest write, more than the bound %s: summaries stay "
                            + "exact but read more deltas each. Check the rollup job in the JobRunr dashboard, or run "
                            + "POST :8081/tasks/rollups",
                    lag, maxLag);
        }
        return Result.healthy("rollups %.1f s behind the oldest write (bound %s)", lag, maxLag);
    }
}
