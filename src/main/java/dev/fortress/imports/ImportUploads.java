package dev.fortress.imports;

import dev.fortress.idempotency.IdempotentWrites;
import jakarta.ws.rs.core.UriBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.net.URI;
import java.util.Arrays;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Streams an upload into {@code import_chunks} (1 MiB at a time, never the whole body in memory)
 * inside one transaction: a body that breaks off, is empty or too large leaves nothing behind.
 */
final class ImportUploads {

    static final int CHUNK_BYTES = 1 << 20;

    sealed interface Outcome permits Created, Repeat {
    }

    /** A new import, stored (with its Idempotency-Key, if any) and ready to enqueue. */
    record Created(UUID id, long bytes) implements Outcome {
    }

    /** The Idempotency-Key was used before; {@code fingerprint} is this request's body's SHA-256. */
    record Repeat(IdempotentWrites.Stored earlier, byte[] fingerprint) implements Outcome {
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

    /** The scope of this route's Idempotency-Keys. */
    static final String SCOPE = "POST /imports";

    private final Jdbi writer;
    private final long maxBytes;
    private final ImportMetrics metrics;
    private final IdempotentWrites idempotent;

    ImportUploads(Jdbi writer, long maxBytes, ImportMetrics metrics, IdempotentWrites idempotent) {
        this.writer = writer;
        this.maxBytes = maxBytes;
        this.metrics = metrics;
        this.idempotent = idempotent;
    }

    /**
     * Stores the upload as a new import, in one transaction with its Idempotency-Key and the
     * answer (see {@link #accepted}); the key is held from the start, so a second upload with it
     * while this one streams is a 409. A key used before leaves the body to be compared with the
     * first one's (read outside the transaction: the stored answer no longer changes).
     */
    Outcome store(InputStream body, String idempotencyKey, long orgId, boolean mayCreateAdmins) {
        UUID id = UUID.randomUUID();
        Object outcome;
        try {
            outcome = writer.inTransaction(h -> {
                IdempotentWrites.Claim claim = idempotencyKey == null ? null
                        : idempotent.claim(h, orgId, SCOPE, idempotencyKey);
                if (claim != null && claim.earlier().isPresent()) {
                    return claim.earlier().get();
                }
                ImportDao dao = h.attach(ImportDao.class);
                dao.create(id, orgId, mayCreateAdmins);
                Upload upload = copyIntoChunks(dao, id, body);
                if (claim != null) {
                    claim.store(upload.sha256(), 202, idempotent.toJson(accepted(id)), location(id));
                }
                return new Created(id, upload.bytes());
            });
        } catch (IdempotentWrites.ClaimedMeanwhile e) {
            // A first upload with the key committed while this one streamed (it is rolled back): its answer.
            IdempotentWrites.Stored earlier = writer.inTransaction(h ->
                    idempotent.claim(h, orgId, SCOPE, idempotencyKey).earlier().orElseThrow());
            return new Repeat(earlier, e.fingerprint());
        }
        if (outcome instanceof IdempotentWrites.Stored earlier) {
            MessageDigest sha = IdempotentWrites.sha256();
            readBounded(body, new byte[64 * 1024], (buffer, n) -> sha.update(buffer, 0, n));
            return new Repeat(earlier, sha.digest());
        }
        return (Created) outcome;
    }

    /** The answer to a new upload, {@code {"importId","status":"queued"}}, in that order. */
    record Accepted(UUID importId, ImportState status) {
    }

    static Accepted accepted(UUID id) {
        return new Accepted(id, ImportState.QUEUED);
    }

    static URI location(UUID id) {
        return UriBuilder.fromResource(ImportsResource.class).path("{id}").build(id);
    }

    private record Upload(long bytes, byte[] sha256) {
    }

    private Upload copyIntoChunks(ImportDao dao, UUID id, InputStream body) {
        MessageDigest sha = IdempotentWrites.sha256();
        int[] seq = {0};
        long total = readBounded(body, new byte[CHUNK_BYTES], (buffer, n) -> {
            sha.update(buffer, 0, n);
            dao.addChunk(id, seq[0]++, n == buffer.length ? buffer : Arrays.copyOf(buffer, n));
            metrics.uploadBytes.mark(n);
        });
        if (total == 0) {
            throw new EmptyBodyException();
        }
        byte[] digest = sha.digest();
        if (dao.uploaded(id, digest, total, seq[0]) != 1) {
            throw new IllegalStateException("import " + id + " changed while uploading");
        }
        return new Upload(total, digest);
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
}
