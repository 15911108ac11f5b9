package dev.fortress.imports;

import dev.fortress.http.ApiErrors;
import dev.fortress.idempotency.IdempotentWrites;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores an upload: first to a spool file on local disk (see {@link UploadSpool}) while its bytes
 * arrive, holding no database connection; then from that file into {@code import_chunks} in short
 * transactions ({@link #CHUNKS_PER_TRANSACTION} chunks of 1 MiB each), and last, in one more, marks
 * it queued with its Idempotency-Key and answer. Until that last commit the import is 'uploading',
 * which no caller sees; an upload that fails on the way is deleted, and one whose instance died is
 * deleted by {@link ImportPurge} after {@code imports.abandonAfter}.
 */
final class ImportUploads {

    static final int CHUNK_BYTES = 1 << 20;
    /** 8 MiB per transaction: a few tens of milliseconds of a writer connection from local disk. */
    static final int CHUNKS_PER_TRANSACTION = 8;

    private static final Logger LOG = LoggerFactory.getLogger(ImportUploads.class);

    sealed interface Outcome permits Created, Repeat {}

    /** A new import, stored (with its Idempotency-Key, if any) and ready to enqueue. */
    record Created(UUID id, long bytes) implements Outcome {}

    /** The Idempotency-Key was used before; {@code fingerprint} is this request's body's SHA-256. */
    record Repeat(IdempotentWrites.Stored earlier, byte[] fingerprint) implements Outcome {}

    static final class EmptyBodyException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        EmptyBodyException() {
            super("empty body: expected a CSV file with the header email,role,org_id,age");
        }
    }

    /** The scope of this route's Idempotency-Keys. */
    static final String SCOPE = "POST /imports";

    private final Jdbi writer;
    private final UploadSpool spool;
    private final long maxBytes;
    private final ImportMetrics metrics;
    private final IdempotentWrites idempotent;
    /** Keys of uploads this instance is receiving: a second upload with one is a 409 at once. */
    private final Set<String> streaming = ConcurrentHashMap.newKeySet();

    ImportUploads(Jdbi writer, UploadSpool spool, long maxBytes, ImportMetrics metrics, IdempotentWrites idempotent) {
        this.writer = writer;
        this.spool = spool;
        this.maxBytes = maxBytes;
        this.metrics = metrics;
        this.idempotent = idempotent;
    }

    /**
     * Stores the upload as a new import, its Idempotency-Key and answer (see {@link #accepted}) in
     * the transaction that makes it queued. A key with a stored answer leaves the body to be hashed
     * and compared with the first one's, and stores nothing; a key whose upload this instance is
     * still receiving is a 409; a key another instance stored meanwhile answers as that one.
     */
    Outcome store(InputStream body, String idempotencyKey, long orgId, boolean mayCreateAdmins) {
        if (idempotencyKey == null) {
            return spoolAndStore(body, null, orgId, mayCreateAdmins);
        }
        // A short transaction: a repeat is answered without spooling or storing anything.
        Optional<IdempotentWrites.Stored> earlier = writer.inTransaction(
                h -> idempotent.claim(h, orgId, SCOPE, idempotencyKey).earlier());
        if (earlier.isPresent()) {
            MessageDigest sha = IdempotentWrites.sha256();
            readBounded(body, sha);
            return new Repeat(earlier.get(), sha.digest());
        }
        String streamingKey = orgId + "\n" + idempotencyKey;
        if (!streaming.add(streamingKey)) {
            throw ApiErrors.error(
                    Response.Status.CONFLICT,
                    IdempotentWrites.KEY_HEADER + " " + idempotencyKey
                            + " is in use by a request still running; retry once it has answered");
        }
        try {
            return spoolAndStore(body, idempotencyKey, orgId, mayCreateAdmins);
        } finally {
            streaming.remove(streamingKey);
        }
    }

    private Outcome spoolAndStore(InputStream body, String idempotencyKey, long orgId, boolean mayCreateAdmins) {
        try (UploadSpool.Spooled spooled = spool.write(body, maxBytes, metrics.uploadBytes::mark)) {
            if (spooled.bytes() == 0) {
                throw new EmptyBodyException();
            }
            return storeSpooled(spooled, idempotencyKey, orgId, mayCreateAdmins);
        }
    }

    private Outcome storeSpooled(
            UploadSpool.Spooled spooled, String idempotencyKey, long orgId, boolean mayCreateAdmins) {
        UUID id = UUID.randomUUID();
        writer.onDemand(ImportDao.class).create(id, orgId, mayCreateAdmins);
        boolean kept = false;
        try {
            int chunks = copyIntoChunks(id, spooled);
            byte[] sha256 = spooled.sha256();
            Object outcome;
            try {
                outcome = writer.inTransaction(h -> {
                    IdempotentWrites.Claim claim =
                            idempotencyKey == null ? null : idempotent.claim(h, orgId, SCOPE, idempotencyKey);
                    if (claim != null && claim.earlier().isPresent()) {
                        return claim.earlier().get(); // another instance stored an upload with the key meanwhile
                    }
                    if (h.attach(ImportDao.class).uploaded(id, sha256, spooled.bytes(), chunks) != 1) {
                        throw new IllegalStateException("import " + id + " changed while uploading");
                    }
                    if (claim != null) {
                        claim.store(sha256, 202, idempotent.toJson(accepted(id)), location(id));
                    }
                    return new Created(id, spooled.bytes());
                });
            } catch (IdempotentWrites.ClaimedMeanwhile e) {
                IdempotentWrites.Stored earlier = writer.inTransaction(h -> idempotent
                        .claim(h, orgId, SCOPE, idempotencyKey)
                        .earlier()
                        .orElseThrow());
                return new Repeat(earlier, e.fingerprint());
            }
            if (outcome instanceof IdempotentWrites.Stored earlier) {
                return new Repeat(earlier, sha256);
            }
            kept = true;
            return (Created) outcome;
        } finally {
            if (!kept) {
                deleteUploading(id);
            }
        }
    }

    /** The spooled bytes into import_chunks, {@link #CHUNKS_PER_TRANSACTION} per transaction; how many chunks. */
    private int copyIntoChunks(UUID id, UploadSpool.Spooled spooled) {
        byte[] buffer = new byte[CHUNK_BYTES];
        int seq = 0;
        try (InputStream in = spooled.open()) {
            while (true) {
                int first = seq;
                int stored = writer.inTransaction(h -> {
                    ImportDao dao = h.attach(ImportDao.class);
                    int n = 0;
                    int read;
                    while (n < CHUNKS_PER_TRANSACTION && (read = in.readNBytes(buffer, 0, buffer.length)) > 0) {
                        dao.addChunk(id, first + n, read == buffer.length ? buffer : Arrays.copyOf(buffer, read));
                        n++;
                    }
                    return n;
                });
                seq += stored;
                if (stored < CHUNKS_PER_TRANSACTION) {
                    return seq;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void deleteUploading(UUID id) {
        try {
            writer.onDemand(ImportDao.class).deleteUploading(id);
        } catch (RuntimeException e) {
            LOG.warn("could not delete the upload of import {} ({}); the purge will", id, e.toString());
        }
    }

    /** The answer to a new upload, {@code {"importId","status":"queued"}}, in that order. */
    @Schema(name = "ImportAccepted")
    record Accepted(UUID importId, ImportState status) {}

    static Accepted accepted(UUID id) {
        return new Accepted(id, ImportState.QUEUED);
    }

    static URI location(UUID id) {
        return UriBuilder.fromResource(ImportsResource.class).path("{id}").build(id);
    }

    /** Hashes a repeat's body, which is not kept; past the limit, {@link UploadSpool.TooLargeException}. */
    private void readBounded(InputStream body, MessageDigest sha) {
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        try {
            int n;
            while ((n = body.read(buffer)) >= 0) {
                total += n;
                if (total > maxBytes) {
                    throw new UploadSpool.TooLargeException(maxBytes);
                }
                sha.update(buffer, 0, n);
            }
        } catch (IOException e) {
            throw new UploadSpool.BrokeOffException(e);
        }
    }
}
