package dev.fortress.imports;

import com.codahale.metrics.annotation.ResponseMetered;
import com.codahale.metrics.annotation.Timed;
import dev.fortress.auth.Caller;
import dev.fortress.auth.Refusals;
import dev.fortress.auth.Scopes;
import dev.fortress.db.IssuesConsistencyToken;
import dev.fortress.http.ApiErrors;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.jobs.Jobs;
import io.dropwizard.auth.Auth;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.InputStream;
import java.util.UUID;
import org.jobrunr.scheduling.JobBuilder;

/**
 * {@code POST /imports} spools the upload to disk, stores it and enqueues a job that carries only
 * the import's id, then answers 202 at once (uploads at once are bounded per organisation and per
 * instance by {@link UploadLimits}, checked before the body is read); {@code GET /imports/{id}} reports progress. Both on the writer:
 * the status must reflect what the job just committed.
 */
@Path("/imports")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "imports", description = "CSV uploads of users into the caller's organisation, imported in the background.")
public class ImportsResource {

    private final ImportUploads uploads;
    private final ImportDao dao;
    private final Jobs jobs;
    private final IdempotentWrites idempotent;
    private final long maxUploadBytes;
    private final Refusals.Family refusals;
    private final UploadLimits limits;

    ImportsResource(
            ImportUploads uploads,
            ImportDao dao,
            Jobs jobs,
            IdempotentWrites idempotent,
            long maxUploadBytes,
            Refusals.Family refusals,
            UploadLimits limits) {
        this.limits = limits;
        this.idempotent = idempotent;
        this.uploads = uploads;
        this.dao = dao;
        this.jobs = jobs;
        this.maxUploadBytes = maxUploadBytes;
        this.refusals = refusals;
    }

    /**
     * An import of the caller's organisation: its rows may only add users to it (a row naming
     * another organisation is rejected with its line), and admins only if the key has the
     * {@code admin} scope.
     */
    @POST
    @Consumes("text/csv")
    @IssuesConsistencyToken
    @RolesAllowed(Scopes.IMPORT)
    @Timed(name = "upload")
    @ResponseMetered(name = "upload")
    @Operation(
            operationId = "uploadImport",
            summary = "Uploads a CSV of users to import",
            description = "Streamed "
                    + "and stored before the answer; rows are imported in the background (see GET /imports/{id}).",
            parameters =
                    @Parameter(
                            in = ParameterIn.HEADER,
                            name = "Content-Encoding",
                            description = "identity (or none) only: a compressed body is refused.",
                            schema = @Schema(type = "string", allowableValues = "identity")),
            responses = {
                @ApiResponse(
                        responseCode = "202",
                        description = "Stored and queued.",
                        headers =
                                @Header(
                                        name = "Location",
                                        description = "/imports/{id}, its progress.",
                                        schema = @Schema(type = "string")),
                        content = @Content(schema = @Schema(implementation = ImportUploads.Accepted.class))),
                @ApiResponse(
                        responseCode = "400",
                        description = "An empty body, one that broke off, or a malformed Idempotency-Key."),
                @ApiResponse(
                        responseCode = "409",
                        description = "A request with the same Idempotency-Key is still being received or stored."),
                @ApiResponse(responseCode = "413", description = "Over imports.maxUploadSize."),
                @ApiResponse(
                        responseCode = "415",
                        description = "Not text/csv, or a Content-Encoding other than identity."),
                @ApiResponse(responseCode = "422", description = "The Idempotency-Key was used with another body."),
                @ApiResponse(
                        responseCode = "429",
                        description = "The organisation already has imports.maxUploadsPerOrg "
                                + "uploads in progress on this instance (Retry-After: imports.uploadRetryAfter); or the key or "
                                + "address is over a limit (RateLimit-Policy says which)."),
                @ApiResponse(
                        responseCode = "503",
                        description = "The instance already has imports.maxConcurrentUploads "
                                + "uploads (Retry-After: imports.uploadRetryAfter); or it is over its capacity, or a database is "
                                + "unavailable.")
            })
    public Response upload(
            @Parameter(hidden = true) @Auth Caller caller,
            @RequestBody(
                            required = true,
                            description = "Header row email,role,org_id,age.",
                            content =
                                    @Content(
                                            mediaType = "text/csv",
                                            schema = @Schema(type = "string", format = "binary")))
                    InputStream body,
            @HeaderParam(IdempotentWrites.KEY_HEADER) String idempotencyKey,
            @Context HttpHeaders headers) {
        String key = IdempotentWrites.key(idempotencyKey);
        if (headers.getMediaType() == null) {
            // Jersey matches a request without Content-Type to any @Consumes; a CSV upload says so.
            throw ApiErrors.error(Response.Status.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be text/csv");
        }
        refuseContentEncoding(headers);
        if (headers.getLength() > maxUploadBytes) {
            throw ApiErrors.error(
                    Response.Status.REQUEST_ENTITY_TOO_LARGE, "upload larger than " + maxUploadBytes + " bytes");
        }
        ImportUploads.Outcome outcome;
        try (UploadLimits.Permit ignored = limits.admit(caller.orgId())) {
            outcome = uploads.store(body, key, caller.orgId(), caller.has(Scopes.ADMIN));
        } catch (ImportUploads.EmptyBodyException e) {
            throw ApiErrors.error(Response.Status.BAD_REQUEST, e.getMessage());
        } catch (UploadSpool.TooLargeException e) {
            throw ApiErrors.error(Response.Status.REQUEST_ENTITY_TOO_LARGE, e.getMessage());
        } catch (UploadSpool.BrokeOffException e) {
            // The client went away, or was too slow and was cut off: nothing is kept.
            throw ApiErrors.error(Response.Status.BAD_REQUEST, e.getMessage());
        }
        if (outcome instanceof ImportUploads.Repeat repeat) {
            Response replay = idempotent.replay(repeat.earlier(), repeat.fingerprint(), key);
            // The first request may have stored the import and died before enqueueing it: by id,
            // enqueueing again is a no-op if it did not.
            String location = repeat.earlier().location();
            UUID id = UUID.fromString(location.substring(location.lastIndexOf('/') + 1));
            dao.find(id)
                    .filter(stored -> stored.status() == ImportState.QUEUED)
                    .ifPresent(stored -> enqueue(id, stored.bodyBytes()));
            return replay;
        }
        ImportUploads.Created created = (ImportUploads.Created) outcome;
        enqueue(created.id(), created.bytes());
        return Response.accepted(idempotent.toJson(ImportUploads.accepted(created.id())))
                .type(MediaType.APPLICATION_JSON_TYPE)
                .location(ImportUploads.location(created.id()))
                .build();
    }

    /** The caller's organisation's import; another organisation's is 404, as a missing one. */
    @GET
    @Path("/{id}")
    @RolesAllowed({Scopes.READ, Scopes.IMPORT})
    @Timed(name = "status")
    @ResponseMetered(name = "status")
    @Operation(
            operationId = "getImport",
            summary = "Where an import of the caller's organisation stands",
            responses = {
                @ApiResponse(
                        responseCode = "200",
                        description = "Its status, counts and first errors.",
                        useReturnTypeSchema = true),
                @ApiResponse(
                        responseCode = "404",
                        description = "No such import, another organisation's, or one past imports.retention.")
            })
    public ImportStatus status(@Parameter(hidden = true) @Auth Caller caller, @PathParam("id") UUID id) {
        return dao.status(id, caller.orgId()).orElseThrow(() -> {
            if (dao.exists(id)) {
                refusals.crossTenant();
            }
            return new NotFoundException("import " + id + " not found");
        });
    }

    /**
     * 415 for a body in any coding but identity, before a byte of it is read. Jetty's gzip handler
     * (server.gzip) inflates a gzip request body as it is read, and renames its Content-Encoding
     * to {@link #INFLATED_ENCODING}: about 1 MiB sent would store 1 GiB. Refused here, it is never
     * inflated.
     */
    private void refuseContentEncoding(HttpHeaders headers) {
        String encoding = headers.getHeaderString(HttpHeaders.CONTENT_ENCODING);
        String inflated = headers.getHeaderString(INFLATED_ENCODING);
        if (inflated != null
                || (encoding != null && !encoding.isBlank() && !encoding.strip().equalsIgnoreCase("identity"))) {
            limits.refused(UploadLimits.Reason.CONTENT_ENCODING);
            throw ApiErrors.error(
                    Response.Status.UNSUPPORTED_MEDIA_TYPE,
                    "Content-Encoding must be identity (absent): send the CSV uncompressed");
        }
    }

    /** The header Jetty's GzipHandler puts in place of the Content-Encoding of a body it inflates. */
    static final String INFLATED_ENCODING = "X-Content-Encoding";

    void enqueue(UUID id, long bytes) {
        jobs.scheduler()
                .create(JobBuilder.aJob()
                        .withId(id)
                        .withName("Import " + id + ": " + humanBytes(bytes))
                        .withJobRequest(new ImportJob.Request(id)));
        jobs.wakeUp();
    }

    static String humanBytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        int unit = (63 - Long.numberOfLeadingZeros(bytes)) / 10;
        return String.format("%.1f %siB", bytes / (double) (1L << (unit * 10)), " KMGTPE".charAt(unit));
    }
}
