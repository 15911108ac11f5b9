package dev.fortress.imports;

import dev.fortress.db.SqlStates;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * Streams an upload into {@code import_chunks} (1 MiB at a time, never the whole body in memory)
 * inside one transaction: a body that breaks off, is empty or too large leaves nothing behind.
 */
final class ImportUploads {

    static final int CHUNK_BYTES = 1 << 20;

    sealed interface Outcome permits Created, Existing, KeyConflict {
    }

    /** A new import, stored and ready to enqueue. */
    record Created(UUID id, long bytes) implements Outcome {
    }

    /** The Idempotency-Key was used before with the same body: that import. */
    record Existing(ImportDao.Stored stored) implements Outcome {
    }

    /** The Idempotency-Key was used before with another body. */
    record KeyConflict(String key) implements Outcome {
    }

    static final class EmptyBodyException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        EmptyBodyException() {
            super("empty body: expected a CSV file with the header email,role,org_id,age");
        }
    }

    static final class TooLargeException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooLargeException(long limit) {
            super("upload larger than " + limit + " bytes");
        }
    }

    private final Jdbi writer;
    private final long maxBytes;
    private final ImportMetrics metrics;

    ImportUploads(Jdbi writer, long maxBytes, ImportMetrics metrics) {
        this.writer = writer;
        this.maxBytes = maxBytes;
        this.metrics = metrics;
    }

    Outcome store(InputStream body, String idempotencyKey) {
        if (idempotencyKey != null) {
            Optional<ImportDao.Stored> earlier = writer.onDemand(ImportDao.class).findByKey(idempotencyKey);
            if (earlier.isPresent()) {
                return compare(earlier.get(), body);
            }
        }
        UUID id = UUID.randomUUID();
        try {
            long bytes = writer.inTransaction(h -> {
                ImportDao dao = h.attach(ImportDao.class);
                dao.create(id, idempotencyKey);
                return copyIntoChunks(dao, id, body);
            });
            return new Created(id, bytes);
        } catch (UnableToExecuteStatementException e) {
            if (idempotencyKey != null && SqlStates.isUniqueViolation(e, "imports_idempotency_key_key")) {
                // A concurrent request with the same key won; answer as if we had come second.
                return compare(writer.onDemand(ImportDao.class).findByKey(idempotencyKey).orElseThrow(), body);
            }
            throw e;
        }
    }

    private long copyIntoChunks(ImportDao dao, UUID id, InputStream body) {
        MessageDigest sha = sha256();
        int[] seq = {0};
        long total = readBounded(body, new byte[CHUNK_BYTES], (buffer, n) -> {
            sha.update(buffer, 0, n);
            dao.addChunk(id, seq[0]++, n == buffer.length ? buffer : Arrays.copyOf(buffer, n));
            metrics.uploadBytes.mark(n);
        });
        if (total == 0) {
            throw new EmptyBodyException();
        }
        if (dao.uploaded(id, sha.digest(), total, seq[0]) != 1) {
            throw new IllegalStateException("import " + id + " changed while uploading");
        }
        return total;
    }

    /** Reads the whole body to compare its hash with the earlier upload's (bounded by the limit). */
    private Outcome compare(ImportDao.Stored earlier, InputStream body) {
        MessageDigest sha = sha256();
        readBounded(body, new byte[64 * 1024], (buffer, n) -> sha.update(buffer, 0, n));
        boolean same = earlier.bodySha256() != null && MessageDigest.isEqual(sha.digest(), earlier.bodySha256());
        return same ? new Existing(earlier) : new KeyConflict(earlier.idempotencyKey());
    }

    private interface Sink {
        void accept(byte[] buffer, int length);
    }

    /** Feeds the body to {@code sink} a buffer at a time; past the limit, {@link TooLargeException}. */
    private long readBounded(InputStream body, byte[] buffer, Sink sink) {
        long total = 0;
        int n;
        while ((n = readChunk(body, buffer)) > 0) {
            total += n;
            if (total > maxBytes) {
                throw new TooLargeException(maxBytes);
            }
            sink.accept(buffer, n);
        }
        return total;
    }

    private static int readChunk(InputStream body, byte[] buffer) {
        try {
            return body.readNBytes(buffer, 0, buffer.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
