package dev.fortress.db;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import java.lang.reflect.Method;
import java.sql.SQLException;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.extension.ExtensionMethod;
import org.jdbi.v3.core.statement.SqlLogger;
import org.jdbi.v3.core.statement.StatementContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One timer per named statement and datasource,
 * {@code dev.fortress.db.<datasource>.<Dao>.<method>}, plus a counter and a log line for
 * statements slower than the threshold (a meter: a count and its rates). The log names the statement, never its values.
 * A stalled database makes every statement slow: the meter counts each, the log says it once per
 * statement and datasource per interval, with a count of the rest ({@link RateLimitedLog}).
 */
public final class StatementMetrics implements SqlLogger {

    private static final Logger LOG = LoggerFactory.getLogger(StatementMetrics.class);
    private static final RateLimitedLog SLOW_LOG = RateLimitedLog.warn(LOG);

    private final MetricRegistry registry;
    private final String datasource;
    private final String prefix;
    private final long slowNanos;
    private final Meter slow;
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    public StatementMetrics(MetricRegistry registry, String datasource, Duration slowThreshold) {
        this.registry = registry;
        this.datasource = datasource;
        this.prefix = MetricRegistry.name("dev.fortress.db", datasource);
        this.slowNanos = slowThreshold.toNanos();
        this.slow = registry.meter(MetricRegistry.name(prefix, "slow-statements"));
    }

    @Override
    public void logAfterExecution(StatementContext context) {
        record(context);
    }

    @Override
    public void logException(StatementContext context, SQLException ex) {
        record(context);
    }

    private void record(StatementContext context) {
        record(statementName(context), context.getElapsedTime(ChronoUnit.NANOS));
    }

    /**
     * Times one execution of {@code statement} ({@code Dao.method}) and logs it when slow: what
     * JDBI's calls do, for a statement run on plain JDBC (see users/JdbcUserReadDao).
     */
    public void record(String statement, long elapsed) {
        // Every statement passes here: look the timer up by name once, not on each execution.
        timers.computeIfAbsent(statement, s -> registry.timer(MetricRegistry.name(prefix, s)))
                .update(elapsed, TimeUnit.NANOSECONDS);
        if (elapsed >= slowNanos) {
            slow.mark();
            SLOW_LOG.warn("slow statement " + statement + " on " + datasource, "slow statement {} on {} took {} ms",
                    statement, datasource, TimeUnit.NANOSECONDS.toMillis(elapsed));
        }
    }

    /** {@code Dao.method} for SQL objects; {@code sql.raw} for ad-hoc SQL (health checks, tasks). */
    static String statementName(StatementContext context) {
        ExtensionMethod extension = context.getExtensionMethod();
        return extension == null ? "sql.raw" : NAMES.computeIfAbsent(extension.getMethod(),
                method -> extension.getType().getSimpleName() + "." + method.getName());
    }

    private static final Map<Method, String> NAMES = new ConcurrentHashMap<>();
}
