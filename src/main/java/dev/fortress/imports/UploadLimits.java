package dev.fortress.imports;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.http.ApiErrors;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.util.HashMap;
import java.util.Map;

/**
 * How many uploads an instance takes at once: at most {@code perOrg} of one organisation (one more
 * is a 429: that organisation is over its share) and {@code perInstance} in all (one more is a 503:
 * the instance is full), both with {@code Retry-After}. Taken before the body is read and given back
 * when the upload has answered, so a refused upload reads no body and stores nothing. The counts
 * are this instance's: N instances take N times as many.
 */
final class UploadLimits {

    /** Why an upload was refused before its body was read: the label of {@code uploads-refused}. */
    enum Reason {
        ORG_LIMIT("org-limit"),
        INSTANCE_LIMIT("instance-limit"),
        CONTENT_ENCODING("content-encoding");

        private final String label;

        Reason(String label) {
            this.label = label;
        }
    }

    private final int perOrg;
    private final int perInstance;
    private final long retryAfterSeconds;
    private final Map<Long, Integer> byOrg = new HashMap<>();
    private int inProgress;
    private final Map<Reason, Meter> refused = new java.util.EnumMap<>(Reason.class);

    UploadLimits(int perOrg, int perInstance, long retryAfterSeconds, MetricRegistry registry) {
        this.perOrg = perOrg;
        this.perInstance = perInstance;
        this.retryAfterSeconds = retryAfterSeconds;
        String prefix = "dev.fortress.imports";
        registry.register(MetricRegistry.name(prefix, "uploads-in-progress"), (Gauge<Integer>) this::inProgress);
        for (Reason reason : Reason.values()) {
            refused.put(reason, registry.meter(MetricRegistry.name(prefix, "uploads-refused", reason.label)));
        }
    }

    synchronized int inProgress() {
        return inProgress;
    }

    /** Counts a refusal made elsewhere (the 415 of a Content-Encoding). */
    void refused(Reason reason) {
        refused.get(reason).mark();
    }

    /** A slot for one upload of {@code orgId}, to close once it has answered; else the 429 or 503 to throw. */
    Permit admit(long orgId) {
        synchronized (this) {
            int ofOrg = byOrg.getOrDefault(orgId, 0);
            if (ofOrg < perOrg && inProgress < perInstance) {
                byOrg.put(orgId, ofOrg + 1);
                inProgress++;
                return new Permit(orgId);
            }
            if (ofOrg >= perOrg) {
                refused.get(Reason.ORG_LIMIT).mark();
                throw refusal(
                        Response.Status.TOO_MANY_REQUESTS,
                        "this organisation already has " + perOrg
                                + " uploads in progress on this instance; retry once one has answered");
            }
        }
        refused.get(Reason.INSTANCE_LIMIT).mark();
        throw refusal(
                Response.Status.SERVICE_UNAVAILABLE,
                "this instance already has " + perInstance + " uploads in progress; retry later");
    }

    private WebApplicationException refusal(Response.Status status, String message) {
        return new WebApplicationException(ApiErrors.response(status, message)
                .header(HttpHeaders.RETRY_AFTER, retryAfterSeconds)
                .build());
    }

    private synchronized void release(long orgId) {
        inProgress--;
        byOrg.computeIfPresent(orgId, (org, n) -> n == 1 ? null : n - 1);
    }

    /** One upload's slot. */
    final class Permit implements AutoCloseable {
        private final long orgId;
        private boolean closed;

        private Permit(long orgId) {
            this.orgId = orgId;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                release(orgId);
            }
        }
    }
}
