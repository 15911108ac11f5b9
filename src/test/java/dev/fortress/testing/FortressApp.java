package dev.fortress.testing;

import dev.fortress.FortressApplication;
import dev.fortress.FortressConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The whole service on the real {@code config.yml}, pointed at a test database, on free ports. */
public final class FortressApp {

    private FortressApp() {
    }

    public static DropwizardAppExtension<FortressConfiguration> on(TestDatabase db, ConfigOverride... extra) {
        return on(db, db.url(), db.url(), extra);
    }

    public static DropwizardAppExtension<FortressConfiguration> on(TestDatabase db, String writerUrl,
                                                                    String readerUrl, ConfigOverride... extra) {
        return build(db, writerUrl, readerUrl, false, extra);
    }

    /** As {@link #on(TestDatabase, ConfigOverride...)}, with config.yml's warm-up phase before readiness. */
    public static DropwizardAppExtension<FortressConfiguration> warmingUp(TestDatabase db, ConfigOverride... extra) {
        return build(db, db.url(), db.url(), true, extra);
    }

    private static DropwizardAppExtension<FortressConfiguration> build(TestDatabase db, String writerUrl,
                                                                        String readerUrl, boolean warmup,
                                                                        ConfigOverride... extra) {
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
                ConfigOverride.config("warmup.enabled", String.valueOf(warmup))));
        overrides.addAll(List.of(extra));
        return new DropwizardAppExtension<>(FortressApplication.class, configPath(),
                overrides.toArray(new ConfigOverride[0]));
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
