package dev.fortress.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * What the fault suite needs to run dependencies of its own (a Redis, a PgBouncer, a replica) as
 * child processes: free ports, private directories, and running PostgreSQL's programs as the
 * {@code postgres} OS user when the tests run as root (PostgreSQL and PgBouncer refuse root).
 */
public final class OwnedProcesses {

    /** The OS user PostgreSQL's Debian packages run as; the owner of our data directories under root. */
    static final String POSTGRES_USER = "postgres";

    private OwnedProcesses() {}

    static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** A port nothing listens on now (the kernel's pick; a later bind may still race, rarely). */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True once 127.0.0.1:{@code port} accepts a TCP connection. */
    static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static void awaitPort(int port, Duration timeout, String what, Path log) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!accepts(port)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(what + " does not listen on 127.0.0.1:" + port + " after "
                        + timeout.toSeconds() + " s; log: " + tail(log));
            }
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
        }
    }

    /**
     * A private directory, owned by postgres when we are root. The owner deletes it when the JVM
     * exits, after stopping what runs in it (shutdown hooks run in no order).
     */
    static Path directory(String prefix) {
        try {
            Path dir = Files.createTempDirectory(
                    prefix, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            chownToPostgres(dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Makes a file or directory we wrote readable by the postgres user that will use it. */
    static void chownToPostgres(Path path) throws IOException {
        if (root()) {
            UserPrincipalLookupService users = path.getFileSystem().getUserPrincipalLookupService();
            Files.setOwner(path, users.lookupPrincipalByName(POSTGRES_USER));
        }
    }

    /** {@code command} run as postgres when we are root (from /, which postgres can read), else as we are. */
    static ProcessBuilder asPostgres(List<String> command) {
        List<String> full = new ArrayList<>();
        if (root()) {
            full.addAll(List.of("runuser", "-u", POSTGRES_USER, "--"));
        }
        full.addAll(command);
        return new ProcessBuilder(full).directory(new File("/"));
    }

    /** Runs to completion; its output goes to {@code log}. Fails with the log's tail on a non-zero exit. */
    static void run(ProcessBuilder command, Duration timeout, Path log) {
        try {
            Process process = command.redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command.command()) + " did not finish in "
                        + timeout.toSeconds() + " s; log: " + tail(log));
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command.command()) + " failed (exit "
                        + process.exitValue() + "); log: " + tail(log));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command.command() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Starts a long-running child whose output goes to {@code log}. */
    static Process start(ProcessBuilder command, Path log) {
        try {
            return command.redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + command.command() + ": " + e.getMessage(), e);
        }
    }

    /** Sends SIGTERM and waits for the exit; SIGKILL if it does not come within {@code grace}. */
    static void terminate(Process process, Duration grace) {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The last lines of a log file, for failure messages. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "(no log at " + log + ")";
        }
    }

    static void deleteQuietly(Path dir) {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // already gone, or a server still writing: /tmp is cleaned anyway
        }
    }
}
