package dev.fortress.testing;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Chromium on the JobRunr dashboard, driven by {@code src/test/browser/dashboard.cjs}
 * (playwright-core): the script's JSON-line events, one at a time. Installs what it needs through
 * {@code bin/services browser}, so {@code mvn verify} alone works too.
 */
public final class DashboardBrowser implements AutoCloseable {

    private static final Path BROWSER_DIR = Path.of("target", "browser");
    private static final Path SCRIPT = Path.of("src", "test", "browser", "dashboard.cjs");
    /** Far above what a page or job here takes; only a hung browser reaches it. */
    private static final Duration EVENT_TIMEOUT = Duration.ofMinutes(5);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Object> END = Map.of("event", "end of output");

    private final Process process;
    private final Writer stdin;
    private final Path log;
    private final BlockingQueue<Map<String, Object>> events = new LinkedBlockingQueue<>();
    private Map<String, Object> ready;

    private DashboardBrowser(Process process, Path log) {
        this.process = process;
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.log = log;
        Thread reader = new Thread(this::readEvents, "dashboard-browser-events");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Opens the dashboard at {@code baseUrl} (first without, then with the credentials) and returns
     * once its job list has rendered. Screenshots and the browser's log go to {@code outputDir}.
     */
    public static DashboardBrowser open(String baseUrl, String user, String password, Path outputDir) {
        install();
        try {
            Files.createDirectories(outputDir);
            Path log = outputDir.resolve("dashboard-browser.log");
            ProcessBuilder node = new ProcessBuilder(
                            "node", SCRIPT.toString(), baseUrl, user, password, outputDir.toString())
                    .redirectError(ProcessBuilder.Redirect.to(log.toFile()));
            node.environment()
                    .put(
                            "NODE_PATH",
                            BROWSER_DIR.resolve("node_modules").toAbsolutePath().toString());
            DashboardBrowser browser = new DashboardBrowser(node.start(), log);
            try {
                browser.ready = browser.await("ready");
            } catch (RuntimeException e) {
                browser.close();
                throw e;
            }
            return browser;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the dashboard browser", e);
        }
    }

    /** Idempotent and quick once installed; bin/test runs it as well. */
    private static void install() {
        Path log = Path.of("target", "browser-install.log");
        OwnedProcesses.run(new ProcessBuilder("bin/services", "browser"), Duration.ofMinutes(10), log);
    }

    /** The {@code ready} event: {@code unauthenticatedStatus} is what the dashboard answered without credentials. */
    public Map<String, Object> ready() {
        return ready;
    }

    /** Opens job {@code jobId}'s page; its states then arrive as {@code state} events. */
    public void showJob(String jobId) {
        try {
            stdin.write(jobId + "\n");
            stdin.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("the dashboard browser is gone: " + OwnedProcesses.tail(log), e);
        }
    }

    /** Waits until the page has shown {@code state}; fails if it reaches a final state or ends first. */
    public void awaitState(String state) {
        while (true) {
            Map<String, Object> event = await("state");
            if (state.equals(event.get("state"))) {
                return;
            }
        }
    }

    /**
     * The {@code done} event: {@code states} (every state the page showed, in order), {@code jobName}
     * (the page's title), {@code screenshots} (paths), {@code pageErrors}.
     */
    public Map<String, Object> awaitDone() {
        while (true) {
            Map<String, Object> event = next();
            if (event.get("event").equals("done")) {
                return event;
            }
        }
    }

    @SuppressWarnings("unchecked")
    public static List<String> strings(Object list) {
        return (List<String>) list;
    }

    private Map<String, Object> await(String name) {
        Map<String, Object> event = next();
        if (!event.get("event").equals(name)) {
            throw new IllegalStateException(
                    "expected the browser's '" + name + "' event, got " + event + "; log: " + OwnedProcesses.tail(log));
        }
        return event;
    }

    private Map<String, Object> next() {
        try {
            Map<String, Object> event = events.poll(EVENT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            if (event == null) {
                throw new IllegalStateException("no event from the dashboard browser in " + EVENT_TIMEOUT.toMinutes()
                        + " min; log: " + OwnedProcesses.tail(log));
            }
            if (event == END) {
                throw new IllegalStateException("the dashboard browser ended early; log: " + OwnedProcesses.tail(log));
            }
            return event;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void readEvents() {
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                try {
                    events.add(JSON.readValue(line, new TypeReference<Map<String, Object>>() {}));
                } catch (IOException notAnEvent) {
                    System.err.println("dashboard browser: " + line);
                }
            }
        } catch (IOException e) {
            // the process went away; END below tells the waiting test
        } finally {
            events.add(END);
        }
    }

    @Override
    public void close() {
        OwnedProcesses.terminate(process, Duration.ofSeconds(10));
    }
}
