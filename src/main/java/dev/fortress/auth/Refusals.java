package dev.fortress.auth;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests refused for who sent them, per route family ({@code users}, {@code orgs}, ...) and
 * reason: {@code dev.fortress.auth.refused.<family>.<reason>}. No key or organisation is ever a
 * label: a guessing client would make the series without bound.
 * <ul>
 *   <li>{@code unauthenticated}: 401, no usable key (a burst is someone guessing keys);</li>
 *   <li>{@code forbidden}: 403, a key without the scope, or a write naming another organisation;</li>
 *   <li>{@code cross-tenant}: another organisation's user, stats, transactions or import, answered
 *       as if absent (404, or 422 for a transaction of another organisation's user).</li>
 * </ul>
 */
public final class Refusals {

    public static final String UNAUTHENTICATED = "unauthenticated";
    public static final String FORBIDDEN = "forbidden";
    public static final String CROSS_TENANT = "cross-tenant";

    private final MetricRegistry metrics;
    private final Map<String, Family> families = new ConcurrentHashMap<>();

    public Refusals(MetricRegistry metrics) {
        this.metrics = metrics;
    }

    /** The meters of one route family, created at once so that every series exists from the start. */
    public Family family(String name) {
        return families.computeIfAbsent(name, Family::new);
    }

    /** A route family's three counts. */
    public final class Family {
        private final Meter unauthenticated;
        private final Meter forbidden;
        private final Meter crossTenant;

        private Family(String name) {
            String prefix = MetricRegistry.name("dev.fortress.auth.refused", name);
            unauthenticated = metrics.meter(MetricRegistry.name(prefix, UNAUTHENTICATED));
            forbidden = metrics.meter(MetricRegistry.name(prefix, FORBIDDEN));
            crossTenant = metrics.meter(MetricRegistry.name(prefix, CROSS_TENANT));
        }

        public void unauthenticated() {
            unauthenticated.mark();
        }

        public void forbidden() {
            forbidden.mark();
        }

        /** Another organisation's data was asked for, and answered as absent. */
        public void crossTenant() {
            crossTenant.mark();
        }

        /** Counts a refusal by its status: 401 and 403; any other status is not a refusal of the caller. */
        void byStatus(int status) {
            if (status == 401) {
                unauthenticated.mark();
            } else if (status == 403) {
                forbidden.mark();
            }
        }
    }
}
