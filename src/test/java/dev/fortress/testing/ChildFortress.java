package dev.fortress.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Fortress in a JVM of its own that the test owns, started as an operator would start it:
 * {@code java -cp ... dev.fortress.FortressApplication server config.yml}, configured only through
 * the environment variables config.yml reads, on free ports, its output in a file under
 * {@code target/child-fortress/}. Unlike an in-process app it can be killed with SIGKILL
 * ({@link #kill9()}) or asked to stop with SIGTERM ({@link #terminate()}), and its start-up log is
 * what an operator would see.
 *
 * <p>Every variable config.yml reads is removed from the inherited environment first, so the
 * child sees exactly the defaults plus what the test sets, whatever the shell running the tests exported.
 */
public final class ChildFortress implements AutoCloseable {

    private static final Path LOGS = Path.of("target", "child-fortress");
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final String label;
    private final Map<String, String> env;
    private final int port;
    private final int adminPort;
    private final Path log;
    private final Process process;

    private ChildFortress(String label, Map<String, String> env, int port, int adminPort, Path log, Process process) {
        this.label = label;
        this.env = env;
        this.port = port;
        this.adminPort = adminPort;
        this.log = log;
        this.process = process;
    }

    /** The environment for a child on {@code db} (writer and reader both), with free ports; add to it and {@link #start}. */
    public static Map<String, String> environment(TestDatabase db) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("DATABASE_URL_WRITE", db.url());
        env.put("DATABASE_URL_READ", db.url());
        env.put("DATABASE_USER", db.user());
        env.put("DATABASE_PASSWORD", db.password());
        env.put("PORT", String.valueOf(freePort()));
        env.put("ADMIN_PORT", String.valueOf(freePort()));
        env.put("JOBRUNR_DASHBOARD_PORT", String.valueOf(freePort()));
        env.put("WARMUP", "false"); // as in FortressApp: only WarmupTest waits for a warm-up
        env.put("RATE_LIMIT_NAMESPACE", "test-" + db.name()); // as in FortressApp: key ids collide across tests
        return env;
    }

    /** Starts the child without waiting for it; {@link #awaitReady()} waits for its admin {@code /ping}. */
    public static ChildFortress launch(String label, Map<String, String> settings) {
        Path log =
                LOGS.resolve(label + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet() + ".log");
        ProcessBuilder builder = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx384m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.fortress.FortressApplication",
                "server",
                FortressApp.configPath());
        configVariables().forEach(builder.environment()::remove);
        builder.environment().putAll(settings);
        builder.redirectErrorStream(true).redirectOutput(log.toFile());
        try {
            Files.createDirectories(LOGS);
            Process process = builder.start();
            ChildFortress child = new ChildFortress(
                    label,
                    Map.copyOf(settings),
                    Integer.parseInt(settings.get("PORT")),
                    Integer.parseInt(settings.get("ADMIN_PORT")),
                    log,
                    process);
            // A test that dies must not leave a Fortress running: the JVM's exit takes the child along.
            Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "kill-" + label));
            return child;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start child Fortress " + label, e);
        }
    }

    /** Starts the child and waits until it answers. */
    public static ChildFortress start(String label, Map<String, String> settings) {
        return launch(label, settings).awaitReady();
    }

    /** Waits until the admin port answers {@code /ping}; fails with the log's tail if the child dies or takes too long. */
    public ChildFortress awaitReady() {
        Http admin = new Http("127.0.0.1", adminPort);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("child Fortress " + label + " exited with " + process.exitValue()
                        + " during start-up; log " + log + ":\n" + tail(60));
            }
            try {
                HttpResponse<String> pong = admin.get("/ping");
                if (pong.statusCode() == 200) {
                    return this;
                }
            } catch (RuntimeException notYet) {
                // not listening yet
            }
            sleep(Duration.ofMillis(100));
        }
        throw new IllegalStateException(
                "child Fortress " + label + " not ready after " + START_TIMEOUT + "; log " + log + ":\n" + tail(60));
    }

    public int port() {
        return port;
    }

    public int adminPort() {
        return adminPort;
    }

    public long pid() {
        return process.pid();
    }

    public Map<String, String> environment() {
        return env;
    }

    public Http api() {
        return new Http("127.0.0.1", port);
    }

    public Http admin() {
        return new Http("127.0.0.1", adminPort);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: the JVM dies at once, no shutdown hook, no graceful anything. Returns when it is gone. */
    public void kill9() {
        process.destroyForcibly();
        awaitExit(Duration.ofSeconds(30));
    }

    /** SIGTERM: the JVM runs its shutdown hooks (Dropwizard drains, then stops). Returns at once. */
    public void terminate() {
        process.destroy();
    }

    /** Waits for the process to end; its exit code. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("child Fortress " + label + " still running after " + timeout);
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public Path logFile() {
        return log;
    }

    /** Everything the child wrote to stdout and stderr so far. */
    public String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String tail(int lines) {
        String[] all = log().split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(all, Math.max(0, all.length - lines), all.length));
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Every {@code ${NAME...}} that config.yml reads. */
    static Set<String> configVariables() {
        try {
            String config = Files.readString(Path.of(FortressApp.configPath()));
            Set<String> names = new TreeSet<>();
            Matcher m = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)").matcher(config);
            while (m.find()) {
                names.add(m.group(1));
            }
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
