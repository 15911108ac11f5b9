package dev.fortress.db;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import java.lang.reflect.Method;
import java.sql.SQLException;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jdbi.v3.core.config.Configurable;
import org.jdbi.v3.core.config.JdbiConfig;
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
 * A statement run outside an SQL object is timed as {@code sql.raw} and its SQL text logged once
 * at WARN, so that it can be found and named. A statement the server cancelled because it ran past
 * {@code statement_timeout} (SQLSTATE 57014) is counted in {@code dev.fortress.db.<datasource>.statement-timeouts}.
 */
public final class StatementMetrics implements SqlLogger {

    private static final Logger LOG = LoggerFactory.getLogger(StatementMetrics.class);
    /** The name of a statement no SQL-object method ran. */
    static final String UNNAMED = "sql.raw";

    private static final int MAX_UNNAMED_LOGGED = 32;

    private final MetricRegistry registry;
    private final String datasource;
    private final String prefix;
    private final long slowNanos;
    private final Meter slow;
    private final Meter timeouts;
    private final Consumer<SQLException> onFailure;
    private final RateLimitedLog slowLog;
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    /** Each SQL-object method's statement name, made once: every statement passes here. */
    private final Map<Method, String> names = new ConcurrentHashMap<>();

    private final Set<String> unnamedLogged = ConcurrentHashMap.newKeySet();

    /**
     * The statement metrics of the datasource behind {@code jdbi} (a Jdbi or a Handle of it), for a
     * statement JDBI does not run (plain JDBC, COPY): set by {@link Databases#configure}, and an
     * IllegalStateException for a Jdbi set up otherwise, which would time nothing.
     */
    public static StatementMetrics of(Configurable<?> jdbi) {
        StatementMetrics metrics = jdbi.getConfig(Config.class).metrics;
        if (metrics == null) {
            throw new IllegalStateException("this Jdbi was not set up by Databases.configure: no statement metrics");
        }
        return metrics;
    }

    /** Where {@link #of} finds them: JDBI's typed configuration, copied into every handle. */
    public static final class Config implements JdbiConfig<Config> {
        private StatementMetrics metrics;

        public Config() {}

        private Config(Config other) {
            this.metrics = other.metrics;
        }

        /** {@link Databases#configure} sets them, with JDBI's SQL logger; a test's Jdbi may set them alone. */
        public void set(StatementMetrics metrics) {
            this.metrics = metrics;
        }

        @Override
        public Config createCopy() {
            return new Config(this);
        }
    }

    /** For a command or a test: the slow-statement log writes no summary lines. */
    public StatementMetrics(MetricRegistry registry, String datasource, Duration slowThreshold) {
        this(registry, datasource, slowThreshold, LogLimiter.withoutSummaries(), error -> {});
    }

    /** @param onFailure told of each failed statement (the writer's {@link PrimaryWait}) */
    StatementMetrics(
            MetricRegistry registry,
            String datasource,
            Duration slowThreshold,
            LogLimiter logs,
            Consumer<SQLException> onFailure) {
        this.onFailure = onFailure;
        this.slowLog = logs.warn(LOG);
        this.registry = registry;
        this.datasource = datasource;
        this.prefix = MetricRegistry.name("dev.fortress.db", datasource);
        this.slowNanos = slowThreshold.toNanos();
        this.slow = registry.meter(MetricRegistry.name(prefix, "slow-statements"));
        this.timeouts = registry.meter(MetricRegistry.name(prefix, "statement-timeouts"));
    }

    @Override
    public void logAfterExecution(StatementContext context) {
        record(context);
    }

    @Override
    public void logException(StatementContext context, SQLException ex) {
        record(context);
        failed(ex);
    }

    /** Counts a failed statement that was cancelled by {@code statement_timeout} (JDBI's and {@link TimedJdbc}'s). */
    public void failed(SQLException error) {
        if (SqlStates.isStatementTimeout(error)) {
            timeouts.mark();
        }
        onFailure.accept(error);
    }

    private void record(StatementContext context) {
        String statement = statementName(context);
        if (statement.equals(UNNAMED)
                && unnamedLogged.size() < MAX_UNNAMED_LOGGED
                && unnamedLogged.add(context.getRawSql())) {
            // Which one to make an SQL-object method: its text as written (placeholders, never bound values).
            LOG.warn(
                    "statement outside an SQL object on {}, timed as {}: {}",
                    datasource,
                    UNNAMED,
                    context.getRawSql().replaceAll("\\s+", " ").trim());
        }
        record(statement, context.getElapsedTime(ChronoUnit.NANOS));
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
            slowLog.warn(
                    "slow statement " + statement + " on " + datasource,
                    "slow statement {} on {} took {} ms",
                    statement,
                    datasource,
                    TimeUnit.NANOSECONDS.toMillis(elapsed));
        }
    }

    /**
     * {@code Dao.method} for SQL objects; {@code sql.raw} for SQL run on a raw Handle, which
     * Fortress does not do: the full-app tests fail when a {@code sql.raw} timer appears.
     */
    String statementName(StatementContext context) {
        ExtensionMethod extension = context.getExtensionMethod();
        return extension == null
                ? UNNAMED
                : names.computeIfAbsent(
                        extension.getMethod(), method -> extension.getType().getSimpleName() + "." + method.getName());
    }
}
