package dev.fortress.testing;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import dev.fortress.FortressApplication;
import dev.fortress.FortressConfiguration;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The whole service on the real {@code config.yml}, pointed at a test database, on free ports.
 * When a test class is done with it, it fails the class if the application ran a statement
 * outside a JDBI SQL object (timed as {@code dev.fortress.db.<datasource>.sql.raw}, see
 * db/StatementMetrics): every statement is named, so its timer and slow-statement log say which
 * it was. A test's own SQL goes through its own {@link TestDatabase#jdbi()}, not the application's.
 */
public final class FortressApp {

    /** How StatementMetrics names a statement that no SQL-object method ran. */
    static final String UNNAMED = ".sql.raw";

    private FortressApp() {}

    public static DropwizardAppExtension<FortressConfiguration> on(TestDatabase db, ConfigOverride... extra) {
        return on(db, db.url(), db.url(), extra);
    }

    public static DropwizardAppExtension<FortressConfiguration> on(
            TestDatabase db, String writerUrl, String readerUrl, ConfigOverride... extra) {
        return build(db, writerUrl, readerUrl, false, extra);
    }

    /** As {@link #on(TestDatabase, ConfigOverride...)}, with config.yml's warm-up phase before readiness. */
    public static DropwizardAppExtension<FortressConfiguration> warmingUp(TestDatabase db, ConfigOverride... extra) {
        return build(db, db.url(), db.url(), true, extra);
    }

    private static DropwizardAppExtension<FortressConfiguration> build(
            TestDatabase db, String writerUrl, String readerUrl, boolean warmup, ConfigOverride... extra) {
        List<ConfigOverride> overrides = new ArrayList<>(List.of(
                ConfigOverride.config("writerDatabase.url", writerUrl),
                ConfigOverride.config("writerDatabase.user", db.user()),
                ConfigOverride.config("writerDatabase.password", db.password()),
                ConfigOverride.config("readerDatabase.url", readerUrl),
                ConfigOverride.config("readerDatabase.user", db.user()),
                ConfigOverride.config("readerDatabase.password", db.password()),
                ConfigOverride.config("server.applicationConnectors[0].port", "0"),
                ConfigOverride.config("server.adminConnectors[0].port", "0"),
                ConfigOverride.config("logging.level", "WARN"),
                // No load balancer drains a test app: stop at once (the shutdown test sets its own).
                ConfigOverride.config("health.shutdownWaitPeriod", "0s"),
                // Tests start dozens of apps: no warm-up phase unless asked for (WarmupTest). Overrides
                // are a set, not a list, so a key must not come twice.
                ConfigOverride.config("warmup.enabled", String.valueOf(warmup)),
                // Tests share one Redis and every test database numbers its keys from 1: the limits of
                // one test's key 1 must not be another's.
                ConfigOverride.config("rateLimits.namespace", "test-" + db.name())));
        overrides.addAll(List.of(extra));
        return new NamedStatementsOnly(configPath(), overrides.toArray(new ConfigOverride[0]));
    }

    /** Stops the application as usual, then fails if it timed any statement as {@code sql.raw}. */
    private static final class NamedStatementsOnly extends DropwizardAppExtension<FortressConfiguration> {

        NamedStatementsOnly(String configPath, ConfigOverride... overrides) {
            super(FortressApplication.class, configPath, overrides);
        }

        @Override
        public void after() {
            Environment environment = getEnvironment(); // null when the application never started
            super.after();
            if (environment != null) {
                List<String> unnamed = unnamedStatements(environment.metrics());
                if (!unnamed.isEmpty()) {
                    throw new AssertionError("the application ran statements outside a JDBI SQL object, timed as "
                            + "sql.raw (make each an @SqlQuery/@SqlUpdate method; StatementMetrics logged the SQL "
                            + "of each at WARN, \"statement outside an SQL object\"): " + String.join("; ", unnamed));
                }
            }
        }
    }

    /** Each {@code sql.raw} timer in {@code metrics}, as "datasource writer: 3 statements". */
    public static List<String> unnamedStatements(MetricRegistry metrics) {
        List<String> unnamed = new ArrayList<>();
        for (Map.Entry<String, Timer> timer : metrics.getTimers().entrySet()) {
            String name = timer.getKey();
            if (name.endsWith(UNNAMED)) {
                String datasource =
                        name.substring(0, name.length() - UNNAMED.length()).replaceFirst("^dev\\.fortress\\.db\\.", "");
                unnamed.add("datasource " + datasource + ": " + timer.getValue().getCount() + " statement(s) (" + name
                        + ")");
            }
        }
        return unnamed;
    }

    /** Overrides that give the named pool ("writerDatabase", "readerDatabase") exactly one connection. */
    public static ConfigOverride[] oneConnection(String pool) {
        return new ConfigOverride[] {
            ConfigOverride.config(pool + ".initialSize", "1"),
            ConfigOverride.config(pool + ".minSize", "1"),
            ConfigOverride.config(pool + ".maxSize", "1"),
        };
    }

    /** The real config.yml at the repository root (Maven runs tests from there). */
    public static String configPath() {
        return Path.of("config.yml").toAbsolutePath().toString();
    }
}
