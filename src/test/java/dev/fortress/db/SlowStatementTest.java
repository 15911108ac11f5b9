package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.codahale.metrics.MetricRegistry;
import dev.fortress.testing.TestDatabase;
import java.time.Duration;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A statement slower than slowQueryThreshold is counted on its pool's meter and logged once, by
 * its name and duration, never with the values bound to it (pg_sleep makes it slow for real).
 */
class SlowStatementTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final String SECRET = "s3cret-bound-value@example.org";
    /**
     * The threshold under test, far enough from both statements that a busy machine cannot move
     * either across it: pg_sleep(0) takes milliseconds, and the slow one sleeps past it.
     */
    private static final Duration THRESHOLD = Duration.ofSeconds(1);

    private static final double SLOW_SECONDS = 1.1;

    interface SleepDao {
        @SqlQuery("select cast(:tag as text) from pg_sleep(:seconds)")
        String sleep(@Bind("seconds") double seconds, @Bind("tag") String tag);
    }

    private final MetricRegistry metrics = new MetricRegistry();
    private final Logger logger = (Logger) LoggerFactory.getLogger(StatementMetrics.class);
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private SleepDao dao;

    @BeforeEach
    void capture() {
        log.start();
        logger.addAppender(log);
        Jdbi jdbi = Databases.configure(DB.jdbi(), new StatementMetrics(metrics, "writer", THRESHOLD));
        dao = jdbi.onDemand(SleepDao.class);
    }

    @AfterEach
    void release() {
        logger.detachAppender(log);
    }

    @Test
    void statementOverTheThresholdIsCountedAndLoggedByNameWithoutItsValues() {
        dao.sleep(0.0, SECRET);
        assertThat(slow()).as("a fast statement is not slow").isZero();
        assertThat(log.list).isEmpty();

        dao.sleep(SLOW_SECONDS, SECRET);

        assertThat(slow()).isEqualTo(1);
        assertThat(log.list).hasSize(1);
        String line = log.list.get(0).getFormattedMessage();
        assertThat(line).matches("slow statement SleepDao\\.sleep on writer took \\d+ ms");
        assertThat(Long.parseLong(line.replaceAll(".* took (\\d+) ms", "$1")))
                .as("at least the sleep: " + line)
                .isGreaterThanOrEqualTo((long) (SLOW_SECONDS * 1000));
        assertThat(line).doesNotContain(SECRET).doesNotContain(String.valueOf(SLOW_SECONDS));
        assertThat(metrics.timer("dev.fortress.db.writer.SleepDao.sleep").getCount())
                .isEqualTo(2);
    }

    private long slow() {
        return metrics.meter("dev.fortress.db.writer.slow-statements").getCount();
    }
}
