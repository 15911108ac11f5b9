package dev.fortress.ops;

import com.codahale.metrics.Histogram;
import com.codahale.metrics.LockFreeExponentiallyDecayingReservoir;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;

/**
 * The metric registry with every timer and histogram, whoever asks for it (Jetty's handler,
 * Jersey's resource listener with its own supplier, Fortress), on the lock-free version of the
 * exponentially decaying reservoir: the same forward-decaying sample and snapshot, without the
 * lock and skip-list insert the classic one takes on every update. A GET /users/{id} updates
 * about ten timers, so this is measurable: bench/results/2026-11-27-tuning.md.
 */
public final class FortressMetricRegistry extends MetricRegistry {

    @Override
    public Timer timer(String name) {
        return super.timer(name, FortressMetricRegistry::lockFreeTimer);
    }

    @Override
    public Timer timer(String name, MetricSupplier<Timer> ignoredSupplier) {
        return timer(name);
    }

    @Override
    public Histogram histogram(String name) {
        return super.histogram(
                name,
                () -> new Histogram(
                        LockFreeExponentiallyDecayingReservoir.builder().build()));
    }

    @Override
    public Histogram histogram(String name, MetricSupplier<Histogram> ignoredSupplier) {
        return histogram(name);
    }

    private static Timer lockFreeTimer() {
        return new Timer(LockFreeExponentiallyDecayingReservoir.builder().build());
    }
}
