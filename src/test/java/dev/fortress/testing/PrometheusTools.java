package dev.fortress.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real Prometheus tools that {@code bin/services up} installs (Debian's prometheus package):
 * {@code promtool} to parse and lint a scrape and to check configuration and rules.
 */
public final class PrometheusTools {

    public static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    public static final Path PROMTOOL = Path.of("/usr/bin/promtool");

    /** What a command printed (stdout and stderr together) and its exit code. */
    public record Outcome(int exitCode, String output) {}

    private PrometheusTools() {}

    public static void requireInstalled() {
        if (!Files.isExecutable(PROMETHEUS) || !Files.isExecutable(PROMTOOL)) {
            throw new AssertionError("Prometheus is not installed: run bin/services up (bin/test does)");
        }
    }

    /** {@code promtool check metrics}: the Prometheus text parser plus its naming lint, on {@code scrape}. */
    public static Outcome checkMetrics(String scrape) {
        return promtool(scrape, "check", "metrics");
    }

    public static Outcome promtool(String stdin, String... args) {
        requireInstalled();
        List<String> command = new java.util.ArrayList<>(List.of(PROMTOOL.toString()));
        command.addAll(List.of(args));
        try {
            Process process =
                    new ProcessBuilder(command).redirectErrorStream(true).start();
            try (var in = process.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("promtool did not finish: " + command);
            }
            return new Outcome(process.exitValue(), output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
