package dev.fortress.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** Waiting for a state, never asserting how long it took: the deadline only ends a wait that will not end. */
public final class Await {

    /** Long enough for any state these tests wait for on a busy machine. */
    public static final Duration DEADLINE = Duration.ofSeconds(30);

    private Await() {}

    /** Reads every 50 ms until {@code done} holds, and returns that reading; fails after {@link #DEADLINE}. */
    public static <T> T await(String what, Supplier<T> read, Predicate<T> done) {
        return await(what, DEADLINE, read, done);
    }

    /** Reads every 50 ms until {@code done} holds, and returns that reading; fails after {@code within}. */
    public static <T> T await(String what, Duration within, Supplier<T> read, Predicate<T> done) {
        long deadline = System.nanoTime() + within.toNanos();
        T last = read.get();
        while (!done.test(last)) {
            assertThat(System.nanoTime())
                    .as("%s within %s (last: %s)", what, within, last)
                    .isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
            last = read.get();
        }
        return last;
    }
}
