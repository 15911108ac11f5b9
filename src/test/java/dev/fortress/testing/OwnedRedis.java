package dev.fortress.testing;

import io.dropwizard.testing.ConfigOverride;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A Redis of the test's own ({@code redis-server} as a child process on a free port, no
 * persistence), so a fault test can kill it and start it again without touching the shared one.
 */
public final class OwnedRedis implements AutoCloseable {

    private final int port = OwnedProcesses.freePort();
    private final Path dir = OwnedProcesses.directory("fault-redis-");
    private final Path log = dir.resolve("redis.log");
    private Process process;

    /** Started at once; stopped and deleted when the JVM ends. */
    public OwnedRedis() {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            close();
                            OwnedProcesses.deleteQuietly(dir);
                        },
                        "stop-redis-" + port));
        start();
    }

    public int port() {
        return port;
    }

    /** Points a FortressApp's cache at this Redis. */
    public ConfigOverride override() {
        return ConfigOverride.config("redis.url", "redis://127.0.0.1:" + port);
    }

    /** Starts it (again) on the same port, empty, and returns once it accepts connections. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        process = OwnedProcesses.start(
                new ProcessBuilder(List.of(
                        "redis-server",
                        "--port",
                        String.valueOf(port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--daemonize",
                        "no",
                        "--dir",
                        dir.toString())),
                log);
        OwnedProcesses.awaitPort(port, Duration.ofSeconds(10), "redis-server", log);
    }

    /** Kills it (SIGKILL: no goodbye to its clients, as when the process or its host dies). */
    public synchronized void kill() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public synchronized void close() {
        OwnedProcesses.terminate(process, Duration.ofSeconds(5));
    }
}
