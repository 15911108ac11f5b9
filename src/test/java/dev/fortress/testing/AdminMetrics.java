package dev.fortress.testing;

import java.util.Map;

/** Reads one metric from a running Fortress's admin {@code /metrics}, as an SRE's scraper would. */
public final class AdminMetrics {

    private final Http admin;

    public AdminMetrics(int adminPort) {
        this.admin = new Http("127.0.0.1", adminPort);
    }

    public long meter(String name) {
        return ((Number) metric("meters", name).get("count")).longValue();
    }

    public long counter(String name) {
        return ((Number) metric("counters", name).get("count")).longValue();
    }

    /** A timer's count, 0 while it has never run (absent). */
    public long timerCount(String name) {
        Map<?, ?> timers = (Map<?, ?>) Http.json(admin.get("/metrics")).get("timers");
        Map<?, ?> timer = (Map<?, ?>) timers.get(name);
        return timer == null ? 0 : ((Number) timer.get("count")).longValue();
    }

    public Object gauge(String name) {
        return metric("gauges", name).get("value");
    }

    public int intGauge(String name) {
        return ((Number) gauge(name)).intValue();
    }

    private Map<?, ?> metric(String kind, String name) {
        Map<?, ?> metrics = (Map<?, ?>) Http.json(admin.get("/metrics")).get(kind);
        Map<?, ?> metric = (Map<?, ?>) metrics.get(name);
        if (metric == null) {
            throw new AssertionError("no " + kind + " metric " + name);
        }
        return metric;
    }
}
