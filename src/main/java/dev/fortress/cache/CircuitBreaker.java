package dev.fortress.cache;

import java.util.function.LongSupplier;

/**
 * Closed: calls go through and consecutive failures are counted. Open (after {@code threshold}
 * failures): calls are refused at once for {@code openNanos}, so requests stop paying a timeout
 * each. Then half-open: one call is let through; its success closes the breaker, its failure
 * opens it again.
 */
final class CircuitBreaker {

    enum State { CLOSED, HALF_OPEN, OPEN }

    private final int threshold;
    private final long openNanos;
    private final LongSupplier clock;
    // Volatile so that the common case (closed, no recent failure) needs no lock on the request path.
    private volatile State state = State.CLOSED;
    private volatile int failures;
    private long openedAt;
    private boolean trialInFlight;

    CircuitBreaker(int threshold, long openNanos, LongSupplier clock) {
        this.threshold = threshold;
        this.openNanos = openNanos;
        this.clock = clock;
    }

    /** May a call go to Redis now? In half-open state only one caller is told yes. */
    boolean allow() {
        return state == State.CLOSED || allowSlow();
    }

    private synchronized boolean allowSlow() {
        if (state == State.OPEN && clock.getAsLong() - openedAt >= openNanos) {
            state = State.HALF_OPEN;
            trialInFlight = false;
        }
        if (state == State.HALF_OPEN) {
            if (trialInFlight) {
                return false;
            }
            trialInFlight = true;
            return true;
        }
        return state == State.CLOSED;
    }

    /** Returns the state before, so callers can log transitions once. */
    State success() {
        if (state == State.CLOSED && failures == 0) {
            return State.CLOSED;
        }
        return successSlow();
    }

    private synchronized State successSlow() {
        State before = state;
        state = State.CLOSED;
        failures = 0;
        trialInFlight = false;
        return before;
    }

    synchronized State failure() {
        State before = state;
        failures++;
        if (state == State.HALF_OPEN || failures >= threshold) {
            state = State.OPEN;
            openedAt = clock.getAsLong();
            trialInFlight = false;
        }
        return before;
    }

    /** The call that was allowed never reached Redis: neither a success nor a failure. */
    synchronized void release() {
        trialInFlight = false;
    }

    State state() {
        return state;
    }
}
