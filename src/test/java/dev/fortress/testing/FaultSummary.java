package dev.fortress.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one line each fault scenario prints: load sent, errors by class, rows lost, rows duplicated
 * and recovery time. It goes to stdout and, as a Markdown table row, to
 * {@code target/fault-summary.md}, a table of what each fault scenario saw (docs/testing.md says what each asserts).
 */
public final class FaultSummary {

    public static final Path FILE = Path.of("target", "fault-summary.md");

    private final String scenario;
    private final AtomicLong sent = new AtomicLong();
    private final Map<String, AtomicLong> outcomes = new ConcurrentHashMap<>();

    public FaultSummary(String scenario) {
        this.scenario = scenario;
    }

    /** Counts one request by its answer: an HTTP status, or -1 for a client-side failure (refused, timed out). */
    public void record(int status) {
        sent.incrementAndGet();
        String outcome = status < 0 ? "io" : (status / 100) + "xx";
        outcomes.computeIfAbsent(outcome, k -> new AtomicLong()).incrementAndGet();
    }

    /** Prints and records the line; returns it. {@code recovery} null when the scenario has none. */
    public String report(long rowsLost, long rowsDuplicated, Duration recovery, String note) {
        Map<String, Long> byClass = new TreeMap<>();
        outcomes.forEach((k, v) -> byClass.put(k, v.get()));
        String recoveryText = recovery == null ? "n/a" : String.format("%.1f s", recovery.toMillis() / 1000.0);
        String line = String.format(
                "FAULT %s: sent %d, answers %s, rows lost %d, rows duplicated %d, recovery %s%s",
                scenario,
                sent.get(),
                byClass,
                rowsLost,
                rowsDuplicated,
                recoveryText,
                note == null || note.isBlank() ? "" : " (" + note + ")");
        System.out.println(line);
        String row = String.format(
                "| %s | %d | %s | %d | %d | %s | %s |%n",
                scenario, sent.get(), byClass, rowsLost, rowsDuplicated, recoveryText, note == null ? "" : note);
        try {
            Files.createDirectories(FILE.getParent());
            if (!Files.exists(FILE)) {
                Files.writeString(
                        FILE,
                        "| scenario | requests | answers by class | rows lost | rows duplicated "
                                + "| recovery | note |\n|---|---|---|---|---|---|---|\n",
                        StandardOpenOption.CREATE);
            }
            Files.writeString(FILE, row, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return line;
    }
}
