package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The limiter on a clock the test moves: what is logged, what is counted, and when the count is told. */
class RateLimitedLogTest {

    private static final Duration INTERVAL = Duration.ofSeconds(10);

    private final Logger logger = (Logger) LoggerFactory.getLogger(RateLimitedLogTest.class);
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final RateLimitedLog limited = new RateLimitedLog(logger, INTERVAL, now::get);

    @BeforeEach
    void capture() {
        logger.setLevel(Level.WARN);
        logger.setAdditive(false); // thousands of lines: kept off the console
        log.start();
        logger.addAppender(log);
    }

    @AfterEach
    void release() {
        logger.detachAppender(log);
        logger.setAdditive(true);
    }

    @Test
    void firstOccurrenceIsLoggedAtOnceAndRepeatsWithinTheIntervalAreCountedNotLogged() {
        limited.warn("db down [08001]", "db down [08001]: {}", "refused on port 1");
        for (int i = 0; i < 999; i++) {
            advance(Duration.ofMillis(9));
            limited.warn("db down [08001]", "db down [08001]: {}", "refused on port " + i);
        }

        assertThat(lines()).containsExactly("db down [08001]: refused on port 1");
        assertThat(log.list.get(0).getLevel()).isEqualTo(Level.WARN);
        assertThat(limited.unreported()).isEqualTo(999);
    }

    @Test
    void nextLineAfterTheIntervalCarriesTheCountOfWhatWasSuppressed() {
        for (int i = 0; i < 50; i++) {
            limited.warn("db down [08001]", "db down [08001]: {}", "attempt " + i);
        }
        advance(INTERVAL);
        limited.warn("db down [08001]", "db down [08001]: {}", "attempt 50");

        assertThat(lines())
                .containsExactly(
                        "db down [08001]: attempt 0",
                        "db down [08001]: attempt 50 (49 similar suppressed in the last 10s)");
        assertThat(limited.unreported()).isZero();
    }

    @Test
    void flushAfterTheIntervalWritesASummaryOnceAndNothingWhileTheIntervalLasts() {
        for (int i = 0; i < 20; i++) {
            limited.warn("db down [08001]", "db down [08001]: {}", "attempt " + i);
        }
        advance(INTERVAL.minusMillis(1));
        limited.flush();
        assertThat(lines()).as("no summary before the interval has passed").hasSize(1);

        advance(Duration.ofMillis(1));
        limited.flush();
        limited.flush();

        assertThat(lines())
                .containsExactly(
                        "db down [08001]: attempt 0", "db down [08001] (19 similar suppressed in the last 10s)");
        // Once summarised, the next occurrence opens a new interval: logged, with nothing to carry.
        limited.warn("db down [08001]", "db down [08001]: {}", "attempt 20");
        assertThat(lines()).last().isEqualTo("db down [08001]: attempt 20");
    }

    @Test
    void distinctKeysAreLimitedIndependently() {
        for (int i = 0; i < 10; i++) {
            limited.warn("db down [08001]", "refused {}", i);
            limited.warn("db down [53300]", "too many connections {}", i);
        }
        limited.warn("slow statement A.b on reader", "slow statement A.b took {} ms", 150);
        advance(INTERVAL);
        limited.warn("db down [53300]", "too many connections {}", 10);

        assertThat(lines())
                .containsExactly(
                        "refused 0",
                        "too many connections 0",
                        "slow statement A.b took 150 ms",
                        "too many connections 10 (9 similar suppressed in the last 10s)");
        limited.flush();
        assertThat(lines()).last().isEqualTo("db down [08001] (9 similar suppressed in the last 10s)");
        assertThat(limited.unreported()).isZero();
    }

    @Test
    void aTrailingThrowableStaysTheLinesCause() {
        IllegalStateException cause = new IllegalStateException("boom");
        limited.warn("k", "failed {}", "once", cause);

        assertThat(lines()).containsExactly("failed once");
        assertThat(log.list.get(0).getThrowableProxy().getMessage()).isEqualTo("boom");
    }

    @Test
    void concurrentCallersLoseNoCount() throws Exception {
        int threads = 8;
        int perThread = 10_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        for (int t = 0; t < threads; t++) {
            pool.execute(() -> {
                awaitQuietly(start);
                for (int i = 0; i < perThread; i++) {
                    // Moves the clock on now and then, so some calls open new intervals while others count.
                    if (i % 1_000 == 0) {
                        now.addAndGet(INTERVAL.toNanos());
                    }
                    limited.warn("k", "failed");
                }
            });
        }
        start.countDown();
        pool.shutdown();
        assertThat(pool.awaitTermination(1, TimeUnit.MINUTES)).isTrue();
        advance(INTERVAL);
        limited.flush();

        // An occurrence line ("failed ...") stands for itself; every line also for the count it carries.
        long occurrences = lines().stream().filter(l -> l.startsWith("failed")).count();
        long suppressed = lines().stream()
                .filter(l -> l.contains(" similar suppressed"))
                .mapToLong(l -> Long.parseLong(l.replaceAll(".*\\((\\d+) similar suppressed.*", "$1")))
                .sum();
        assertThat(occurrences).as("one line per interval opened, not per call").isLessThan(threads * perThread / 100);
        assertThat(occurrences + suppressed).isEqualTo((long) threads * perThread);
        assertThat(limited.unreported()).isZero();
    }

    private void advance(Duration by) {
        now.addAndGet(by.toNanos());
    }

    private List<String> lines() {
        return log.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
