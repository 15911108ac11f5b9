package dev.fortress.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The breaker Redis builds (resilience4j, configured for "N consecutive failures"), on a clock the test moves. */
class CircuitBreakerTest {

    private static final Duration OPEN_FOR = Duration.ofSeconds(1);

    private final TestClock clock = new TestClock();
    private final CircuitBreaker breaker = Redis.breaker(3, OPEN_FOR, clock);

    private void failure() {
        breaker.onError(0, TimeUnit.NANOSECONDS, new IllegalStateException("redis down"));
    }

    private void success() {
        breaker.onSuccess(0, TimeUnit.NANOSECONDS);
    }

    /** Past the open period (resilience4j lets the trial through once the period has strictly passed). */
    private void openPeriodPasses() {
        clock.advance(OPEN_FOR.plusMillis(1));
    }

    @Test
    void opensAfterConsecutiveFailuresAndRefusesCallsWhileOpen() {
        failure();
        failure();
        assertThat(breaker.tryAcquirePermission()).isTrue();
        failure();

        assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(breaker.tryAcquirePermission()).isFalse();
    }

    @Test
    void aSuccessResetsTheCount() {
        failure();
        failure();
        success();
        failure();
        failure();

        assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    }

    @Test
    void afterTheOpenPeriodOneTrialDecides() {
        for (int i = 0; i < 3; i++) {
            failure();
        }
        openPeriodPasses();

        assertThat(breaker.tryAcquirePermission()).isTrue();
        assertThat(breaker.tryAcquirePermission())
                .as("only one trial at a time")
                .isFalse();
        assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
        failure();
        assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);

        openPeriodPasses();
        assertThat(breaker.tryAcquirePermission()).isTrue();
        success();
        assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
        assertThat(breaker.tryAcquirePermission()).isTrue();
    }

    @Test
    void aTrialThatNeverReachedRedisLeavesTheTrialToTheNextCall() {
        for (int i = 0; i < 3; i++) {
            failure();
        }
        openPeriodPasses();

        assertThat(breaker.tryAcquirePermission()).isTrue();
        breaker.releasePermission(); // the pool had no connection free: neither a success nor a failure

        assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
        assertThat(breaker.tryAcquirePermission()).isTrue();
        assertThat(breaker.tryAcquirePermission()).isFalse();
    }

    private static final class TestClock extends Clock {

        private Instant now = Instant.parse("2026-12-01T00:00:00Z");

        void advance(Duration by) {
            now = now.plus(by);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
