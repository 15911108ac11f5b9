package dev.fortress.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * BoundedRead's contract, seen through counters and latches: which reads ran, which completed,
 * what each caller got. No assertion depends on how long anything took; where a wait bound matters
 * it is an hour against a test timeout of a minute, or a read that never ends by itself.
 */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class BoundedReadTest {

    /** Long enough for any read that does finish, on however busy a machine. */
    private static final Duration HOUR = Duration.ofHours(1);

    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final Semaphore readsDone = new Semaphore(0);
    private final AtomicInteger loadsThrew = new AtomicInteger();
    private final AtomicBoolean refuse = new AtomicBoolean();
    /** Runs each read on a thread of the pool and counts it done, or refuses it while {@link #refuse}. */
    private final java.util.concurrent.Executor reader = task -> {
        if (refuse.get()) {
            throw new RejectedExecutionException("shut down");
        }
        pool.execute(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                loadsThrew.incrementAndGet();
            } finally {
                readsDone.release();
            }
        });
    };

    @AfterEach
    void stopReaders() {
        pool.shutdownNow();
    }

    /** Counts its calls and answers "v1", "v2", ... */
    private static final class Counting implements Supplier<String> {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public String get() {
            return "v" + calls.incrementAndGet();
        }
    }

    @Test
    void readsOnceAnIntervalHoweverManyCallersAskAtOnce() throws Exception {
        Counting source = new Counting();
        BoundedRead<String> read = new BoundedRead<>(source, reader, HOUR, HOUR);
        CountDownLatch start = new CountDownLatch(1);
        List<Callable<List<String>>> callers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            callers.add(() -> {
                start.await();
                List<String> seen = new ArrayList<>();
                for (int j = 0; j < 50; j++) {
                    seen.add(read.getValue());
                }
                return seen;
            });
        }
        ExecutorService callerThreads = Executors.newFixedThreadPool(8);
        try {
            List<Future<List<String>>> results = new ArrayList<>();
            callers.forEach(c -> results.add(callerThreads.submit(c)));
            start.countDown();
            for (Future<List<String>> result : results) {
                assertThat(result.get())
                        .as("every caller waits for the one read, then keeps its value")
                        .containsOnly("v1");
            }
        } finally {
            callerThreads.shutdownNow();
        }
        assertThat(source.calls)
                .as("one read for 400 calls within the interval")
                .hasValue(1);
    }

    @Test
    void valuesRefreshOnceTheIntervalHasPassed() {
        Counting source = new Counting();
        BoundedRead<String> read = new BoundedRead<>(source, reader, Duration.ofMillis(20), HOUR);

        assertThat(read.getValue()).isEqualTo("v1");
        String value;
        int calls = 1;
        do {
            LockSupport.parkNanos(Duration.ofMillis(1).toNanos());
            value = read.getValue();
            calls++;
        } while (value.equals("v1"));

        assertThat(value).isEqualTo("v2");
        assertThat(source.calls)
                .as("a second read only once the interval passed, after %d calls", calls)
                .hasValue(2);
    }

    @Test
    void aCallerWaitsOnlyItsBoundForAHangingReadAndGetsNullWhenThereIsNoValueYet() throws Exception {
        CountDownLatch hang = new CountDownLatch(1);
        BoundedRead<String> read = new BoundedRead<>(
                () -> {
                    await(hang);
                    return "late";
                },
                reader,
                HOUR,
                Duration.ofMillis(50));

        assertThat(read.getValue()).as("no value yet").isNull();
        assertThat(read.getValue()).isNull();
        assertThat(readsDone.availablePermits())
                .as("both calls returned while the read still hangs")
                .isZero();

        hang.countDown();
        readsDone.acquire();
        assertThat(read.getValue()).as("the read that finished late").isEqualTo("late");
    }

    @Test
    void aCallerWaitsOnlyItsBoundForAHangingReadAndGetsTheLastValue() throws Exception {
        CountDownLatch hang = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        BoundedRead<String> read = new BoundedRead<>(
                () -> {
                    if (calls.incrementAndGet() == 1) {
                        return "first";
                    }
                    await(hang);
                    return "second";
                },
                reader,
                Duration.ZERO,
                Duration.ofMillis(50));
        read.getValue(); // the first read: "first", or null if it took longer than 50 ms
        readsDone.acquire();

        List<String> whileHanging = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            whileHanging.add(read.getValue());
        }

        assertThat(whileHanging).as("the last value while the next read hangs").containsOnly("first");
        assertThat(readsDone.availablePermits())
                .as("returned while the second read hangs")
                .isZero();
        hang.countDown();
        readsDone.acquire();
        assertThat(calls).as("no other read started while one was under way").hasValue(2);
    }

    @Test
    void aFailingSourceLeavesTheLastValueAndReleasesItsCallersAtOnce() {
        AtomicInteger calls = new AtomicInteger();
        // Callers would wait an hour for a read that never completes: the test's minute says they did not.
        BoundedRead<String> read = new BoundedRead<>(
                () -> {
                    int call = calls.incrementAndGet();
                    if (call == 2) {
                        throw new IllegalStateException("storage away");
                    }
                    return "v" + call;
                },
                reader,
                Duration.ZERO,
                HOUR);

        assertThat(read.getValue()).isEqualTo("v1");
        assertThat(read.getValue()).as("the read failed: the last value").isEqualTo("v1");
        assertThat(read.getValue()).as("the source is back").isEqualTo("v3");
        readsDone.acquireUninterruptibly(3);
        assertThat(loadsThrew).hasValue(1);
    }

    @Test
    void aReaderThatRefusesTheReadLeavesTheLastValueAndIsAskedAgainLater() {
        Counting source = new Counting();
        BoundedRead<String> read = new BoundedRead<>(source, reader, Duration.ZERO, HOUR);
        assertThat(read.getValue()).isEqualTo("v1");

        refuse.set(true);
        assertThat(read.getValue()).as("refused: the last value, no exception").isEqualTo("v1");
        assertThat(read.getValue()).isEqualTo("v1");
        refuse.set(false);

        assertThat(read.getValue()).as("not stuck on the refused read").isEqualTo("v2");
        assertThat(source.calls).hasValue(2);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the test is over: stopReaders
        }
    }
}
