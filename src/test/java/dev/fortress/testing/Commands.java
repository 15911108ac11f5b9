package dev.fortress.testing;

import dev.fortress.FortressApplication;
import dev.fortress.FortressConfiguration;
import io.dropwizard.core.cli.Cli;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.util.JarLocation;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs one of the jar's commands ({@code java -jar fortress.jar <args> config.yml}) in this JVM,
 * through the same CLI, with configuration overrides as {@code dw.*} system properties (as Dropwizard
 * reads them), and returns what it printed. Commands run one at a time: System.out is the command's
 * while it runs.
 */
public final class Commands {

    /** What a command printed and whether it failed. */
    public record Result(Optional<Throwable> failure, String out, String err) {

        public List<String> lines() {
            return out.lines().toList();
        }

        /** Its last line of standard output. */
        public String lastLine() {
            List<String> lines = lines();
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        }
    }

    private Commands() {}

    /** {@code args} then config.yml, with {@code overrides} (e.g. {@code writerDatabase.url}) in force. */
    public static synchronized Result run(Map<String, String> overrides, String... args) {
        overrides.forEach((key, value) -> System.setProperty("dw." + key, value));
        PrintStream stdout = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream capture = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            FortressApplication app = new FortressApplication();
            Bootstrap<FortressConfiguration> bootstrap = new Bootstrap<>(app);
            app.initialize(bootstrap);
            List<String> all = new ArrayList<>(List.of(args));
            all.add(FortressApp.configPath());
            Optional<Throwable> failure = new Cli(new JarLocation(FortressApplication.class), bootstrap, capture, err)
                    .run(all.toArray(String[]::new));
            return new Result(failure, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
            overrides.keySet().forEach(key -> System.clearProperty("dw." + key));
        }
    }

    /** The overrides that point a command at {@code db} as its writer and its reader. */
    public static Map<String, String> on(TestDatabase db) {
        return on(db, db.url());
    }

    /** The overrides that point a command at {@code db} as its writer and at {@code readerUrl}. */
    public static Map<String, String> on(TestDatabase db, String readerUrl) {
        return Map.of(
                "writerDatabase.url",
                db.url(),
                "writerDatabase.user",
                db.user(),
                "writerDatabase.password",
                db.password(),
                "readerDatabase.url",
                readerUrl,
                "readerDatabase.user",
                db.user(),
                "readerDatabase.password",
                db.password());
    }
}
