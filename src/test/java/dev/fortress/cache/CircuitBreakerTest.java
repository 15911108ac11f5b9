package dev.fortress.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CircuitBreakerTest {

    private final AtomicLong now = new AtomicLong();
    private final CircuitBreaker breaker = new CircuitBreaker(3, 1_000, now::get);

    @Test
    void opensAfterConsecutiveFailuresAndRefusesCallsWhileOpen() {
        breaker.failure();
        breaker.failure();
        assertThat(breaker.allow()).isTrue();
        breaker.failure();

        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(breaker.allow()).isFalse();
    }

    @Test
    void aSuccessResetsTheCount() {
        breaker.failure();
        breaker.failure();
        breaker.success();
        breaker.failure();
        breaker.failure();

        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.CLOSED);
    }

    @Test
    void afterTheOpenPeriodOneTrialDecides() {
        for (int i = 0; i < 3; i++) {
            breaker.failure();
        }
        now.addAndGet(1_000);

        assertThat(breaker.allow()).isTrue();
        assertThat(breaker.allow()).as("only one trial at a time").isFalse();
        assertThat(breaker.failure()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);

        now.addAndGet(1_000);
        assertThat(breaker.allow()).isTrue();
        breaker.success();
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.CLOSED);
        assertThat(breaker.allow()).isTrue();
    }
}
