package dev.fortress.imports;

import dev.fortress.idempotency.IdempotentWrites;
import io.dropwizard.lifecycle.Managed;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uploads on local disk while their bytes arrive, so that a slow client costs a file and a request
 * thread, never a database connection. Each instance spools into a directory of its own under
 * {@code imports.spoolDirectory}, {@code spool-<uuid>}, which it holds with an OS lock on
 * {@code spool-<uuid>.lock} beside it for as long as it runs: at start-up, the directories whose lock
 * nobody holds were left by an instance that died, and are deleted (so several instances, or test
 * apps in one JVM, may share the directory). Each file is deleted once stored or refused.
 */
final class UploadSpool implements Managed {

    private static final Logger LOG = LoggerFactory.getLogger(UploadSpool.class);
    private static final String PREFIX = "spool-";
    private static final String LOCK = ".lock";
    private static final int BUFFER = 64 * 1024;

    /**
     * The lock files this JVM holds. Another spool of this JVM (a second app in a test) must not
     * even open them: on Linux, closing any descriptor of a file drops every lock the process holds
     * on it (POSIX record locks), so a look at a running spool's lock would end that lock.
     */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path root;
    private final AtomicLong bytes = new AtomicLong();
    private Path dir;
    private FileChannel lockChannel;
    private FileLock lock;

    UploadSpool(Path root) {
        this.root = root;
    }

    /** Bytes in this instance's spool files now. */
    long bytes() {
        return bytes.get();
    }

    /** Where this instance spools (null before {@link #start}). */
    Path directory() {
        return dir;
    }

    /** Creates the spool directory, deletes what dead instances left in it, and takes a directory of its own. */
    @Override
    public synchronized void start() throws IOException {
        if (dir != null) {
            return;
        }
        Files.createDirectories(root);
        deleteLeftovers();
        String name = PREFIX + UUID.randomUUID();
        // The lock first, then the directory: another instance never sees this directory unlocked.
        Path lockFile = root.resolve(name + LOCK).toAbsolutePath().normalize();
        HELD.add(lockFile);
        lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        lock = lockChannel.lock();
        dir = Files.createDirectory(root.resolve(name));
        LOG.info("spooling uploads in {}", dir);
    }

    @Override
    public synchronized void stop() throws IOException {
        if (dir == null) {
            return;
        }
        deleteTree(dir);
        Path lockFile = root.resolve(dir.getFileName() + LOCK).toAbsolutePath().normalize();
        Files.deleteIfExists(lockFile);
        lock.release();
        lockChannel.close();
        HELD.remove(lockFile);
        dir = null;
    }

    private void deleteLeftovers() throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root, PREFIX + "*")) {
            for (Path entry : entries) {
                if (!Files.isDirectory(entry)) {
                    continue;
                }
                Path lockFile = root.resolve(entry.getFileName() + LOCK)
                        .toAbsolutePath()
                        .normalize();
                if (HELD.contains(lockFile)) {
                    continue; // a running spool's of this JVM
                }
                try (FileChannel channel =
                        FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                    FileLock held = channel.tryLock();
                    if (held == null) {
                        continue; // a running instance's (another process)
                    }
                    try {
                        long size = deleteTree(entry);
                        LOG.info("deleted {} left by an instance that stopped ({} bytes)", entry, size);
                        Files.deleteIfExists(lockFile);
                    } finally {
                        held.release();
                    }
                } catch (OverlappingFileLockException e) {
                    // Locked by this JVM after all: a running spool's.
                }
            }
        }
    }

    private static long deleteTree(Path top) throws IOException {
        long[] size = {0};
        try (Stream<Path> paths = Files.walk(top)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                if (Files.isRegularFile(path)) {
                    size[0] += Files.size(path);
                }
                Files.deleteIfExists(path);
            }
        }
        return size[0];
    }

    /** Thrown when the body passes {@code maxBytes}; the partial file is already deleted. */
    static final class TooLargeException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooLargeException(long limit) {
            super("upload larger than " + limit + " bytes");
        }
    }

    /**
     * Writes {@code body} to a new spool file, up to {@code maxBytes} (past it, {@link TooLargeException}),
     * telling {@code received} each buffer's size. The caller closes the result, which deletes the file.
     */
    Spooled write(InputStream body, long maxBytes, LongConsumer received) {
        Path dir = this.dir;
        if (dir == null) {
            throw new IllegalStateException("the upload spool is not started");
        }
        Spooled spooled = new Spooled(dir.resolve("upload-" + UUID.randomUUID() + ".csv"));
        try {
            MessageDigest sha = IdempotentWrites.sha256();
            byte[] buffer = new byte[BUFFER];
            try (OutputStream out =
                    Files.newOutputStream(spooled.path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                int n;
                while ((n = read(body, buffer)) >= 0) {
                    if (spooled.bytes + n > maxBytes) {
                        throw new TooLargeException(maxBytes);
                    }
                    out.write(buffer, 0, n);
                    sha.update(buffer, 0, n);
                    spooled.bytes += n;
                    bytes.addAndGet(n);
                    received.accept(n);
                }
            }
            spooled.sha256 = sha.digest();
            return spooled;
        } catch (IOException e) {
            spooled.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            spooled.close();
            throw e;
        }
    }

    /** The client's body broke off (it went away, or was cut off as too slow); nothing is kept. */
    static final class BrokeOffException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BrokeOffException(IOException cause) {
            super("the upload broke off before its end", cause);
        }
    }

    private static int read(InputStream body, byte[] buffer) {
        try {
            return body.read(buffer);
        } catch (IOException e) {
            throw new BrokeOffException(e);
        }
    }

    /** One spooled upload; closing deletes it. */
    final class Spooled implements AutoCloseable {
        private final Path path;
        private long bytes;
        private byte[] sha256;
        private boolean closed;

        private Spooled(Path path) {
            this.path = path;
        }

        long bytes() {
            return bytes;
        }

        byte[] sha256() {
            return sha256.clone();
        }

        InputStream open() throws IOException {
            return Files.newInputStream(path);
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                LOG.warn("could not delete spool file {} ({}); it goes at the next start", path, e.toString());
            } finally {
                UploadSpool.this.bytes.addAndGet(-bytes);
            }
        }
    }
}
