package dev.fortress.transactions;

import com.codahale.metrics.annotation.ResponseMetered;
import com.codahale.metrics.annotation.Timed;
import dev.fortress.auth.Caller;
import dev.fortress.auth.Refusals;
import dev.fortress.auth.Scopes;
import dev.fortress.db.ConsistencyTokenFeature;
import dev.fortress.db.IssuesConsistencyToken;
import dev.fortress.db.Reads;
import dev.fortress.db.SqlStates;
import dev.fortress.http.ApiErrors;
import dev.fortress.http.BodySizeLimit;
import dev.fortress.idempotency.IdempotentWrites;
import io.dropwizard.auth.Auth;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.annotation.security.RolesAllowed;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * Writes on the writer; listings and summaries on the replica (lag- and token-aware), always bounded
 * by created_at, and always of the caller's organisation only.
 */
@Path("/transactions")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "transactions", description = "The transactions of the caller's organisation's users.")
public class TransactionsResource {

    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;
    static final Instant EARLIEST = Instant.parse("0001-01-01T00:00:00Z");
    static final Instant AFTER_LATEST = Instant.parse("+10000-01-01T00:00:00Z");

    private final Reads<TransactionReadDao> reader;
    /** The scope of this route's Idempotency-Keys. */
    static final String SCOPE = "POST /transactions";

    private final IdempotentWrites writes;
    private final IdempotentWrites.KeyedInsert<Transaction> insertWithKey;
    /** Asked, after a keyed insert found no user, whether another organisation has it. */
    private final Jdbi writer;

    private final Partitions partitions;
    private final Refusals.Family refusals;

    TransactionsResource(
            Reads<TransactionReadDao> reader,
            IdempotentWrites writes,
            Jdbi writer,
            Partitions partitions,
            Refusals.Family refusals) {
        this.reader = reader;
        this.writes = writes;
        this.insertWithKey = TransactionWriteDao.insertWithKey(writes);
        this.writer = writer;
        this.partitions = partitions;
        this.refusals = refusals;
    }

    /**
     * Books a transaction for a user of the caller's organisation; a user of another organisation is
     * answered as a user that does not exist (422), and nothing is written.
     */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @BodySizeLimit(4 * 1024)
    @IssuesConsistencyToken
    @RolesAllowed(Scopes.WRITE)
    @Timed(name = "create")
    @ResponseMetered(name = "create")
    @Operation(
            operationId = "createTransaction",
            summary = "Books a transaction for a user of the caller's organisation",
            responses = {
                @ApiResponse(
                        responseCode = "201",
                        description = "The transaction (amount with 2 places).",
                        content = @Content(schema = @Schema(implementation = Transaction.class))),
                @ApiResponse(
                        responseCode = "400",
                        description = "Malformed JSON, a createdAt that is not an instant, or a "
                                + "malformed Idempotency-Key."),
                @ApiResponse(
                        responseCode = "409",
                        description = "A request with the same Idempotency-Key is still running."),
                @ApiResponse(responseCode = "413", description = "A body over 4 KiB."),
                @ApiResponse(responseCode = "415", description = "A body that is not JSON."),
                @ApiResponse(
                        responseCode = "422",
                        description = "An amount with more than 2 decimals or not a number, a "
                                + "missing user or another organisation's, a createdAt in a month without a partition (the message "
                                + "names the kept window); or the Idempotency-Key was used with another body.",
                        content = @Content(schema = @Schema(ref = "Unprocessable")))
            })
    public Response create(
            @Parameter(hidden = true) @Auth Caller caller,
            @NotNull @Valid NewTransaction body,
            @HeaderParam(IdempotentWrites.KEY_HEADER) String idempotencyKey) {
        String key = IdempotentWrites.key(idempotencyKey);
        if (!supported(body.createdAt())) {
            throw outsidePartitions(body);
        }
        long org = caller.orgId();
        BigDecimal amount = new BigDecimal(body.amount());
        try {
            if (key != null) { // the same insert, its key claimed and its answer stored in the same statement
                return writes.write(org, SCOPE, key, body, insertWithKey, (st, first) -> {
                            st.setBigDecimal(first, amount);
                            st.setTimestamp(first + 1, at(body.createdAt()));
                            st.setLong(first + 2, body.userId());
                            st.setLong(first + 3, org);
                        })
                        .orElseThrow(
                                () -> writer.withExtension(TransactionWriteDao.class, dao -> unknownUser(dao, body)));
            }
            return writes.write(h -> {
                TransactionWriteDao transactions = h.attach(TransactionWriteDao.class);
                Transaction created = transactions
                        .insert(org, body.userId(), amount, at(body.createdAt()))
                        .orElseThrow(() -> unknownUser(transactions, body));
                return new IdempotentWrites.Answer(201, created, null);
            });
        } catch (UnableToExecuteStatementException e) {
            if (SqlStates.hasState(e, "23514")
                    && String.valueOf(SqlStates.rootMessage(e)).contains("no partition")) {
                throw outsidePartitions(body);
            }
            throw e;
        }
    }

    @GET
    @RolesAllowed(Scopes.READ)
    @Timed(name = "list")
    @ResponseMetered(name = "list")
    @Operation(
            operationId = "listTransactions",
            summary = "The caller's organisation's transactions, newest first",
            responses = {
                @ApiResponse(responseCode = "200", description = "The transactions.", useReturnTypeSchema = true),
                @ApiResponse(
                        responseCode = "400",
                        description = "from not before to, an instant or a limit that is not "
                                + "one, or an X-Consistency-Token ahead of the writer.")
            })
    public List<Transaction> list(
            @Parameter(hidden = true) @Auth Caller caller,
            @Parameter(
                            description = "Inclusive; an open end if absent.",
                            schema = @Schema(type = "string", format = "date-time"))
                    @QueryParam("from")
                    String from,
            @Parameter(
                            description = "Exclusive; an open end if absent.",
                            schema = @Schema(type = "string", format = "date-time"))
                    @QueryParam("to")
                    String to,
            @Parameter(description = "Only this user's (of the caller's organisation).") @QueryParam("userId")
                    Long userId,
            @Parameter(schema = @Schema(minimum = "1", maximum = "" + MAX_LIMIT, defaultValue = "" + DEFAULT_LIMIT))
                    @QueryParam("limit")
                    Integer limit,
            @HeaderParam(ConsistencyTokenFeature.HEADER) String token) {
        Instant[] window = window(from, to);
        int rows = limit == null ? DEFAULT_LIMIT : limit;
        if (rows < 1 || rows > MAX_LIMIT) {
            throw ApiErrors.error(Response.Status.BAD_REQUEST, "limit must be between 1 and " + MAX_LIMIT);
        }
        long org = caller.orgId();
        return reader.read(
                token,
                reads -> userId == null
                        ? reads.list(org, at(window[0]), at(window[1]), rows)
                        : reads.listForUser(org, userId, at(window[0]), at(window[1]), rows));
    }

    /** The caller's organisation's count and sum in [from, to): exact, at the same cost for any range. */
    @GET
    @Path("/summary")
    @RolesAllowed(Scopes.READ)
    @Timed(name = "summary")
    @ResponseMetered(name = "summary")
    @Operation(
            operationId = "summarizeTransactions",
            summary = "Count and sum of the caller's organisation's transactions in [from, to)",
            description = "Exact to the cent, at the same cost for any range.",
            responses = {
                @ApiResponse(
                        responseCode = "200",
                        description = "The count and sum (\"0.00\" for none).",
                        useReturnTypeSchema = true),
                @ApiResponse(
                        responseCode = "400",
                        description = "from not before to, an instant that is not one, or an "
                                + "X-Consistency-Token ahead of the writer.")
            })
    public WindowSummary summary(
            @Parameter(hidden = true) @Auth Caller caller,
            @Parameter(
                            description = "Inclusive; an open end if absent.",
                            schema = @Schema(type = "string", format = "date-time"))
                    @QueryParam("from")
                    String from,
            @Parameter(
                            description = "Exclusive; an open end if absent.",
                            schema = @Schema(type = "string", format = "date-time"))
                    @QueryParam("to")
                    String to,
            @HeaderParam(ConsistencyTokenFeature.HEADER) String token) {
        Instant[] window = window(from, to);
        SummaryPieces pieces = SummaryPieces.of(window[0], window[1]);
        long org = caller.orgId();
        TransactionReadDao.Summary summary = reader.read(
                token,
                pieces.onWholeMinutes()
                        ? reads -> reads.summaryAligned(org, pieces)
                        : reads -> reads.summary(org, pieces));
        return new WindowSummary(
                window[0].toString(),
                window[1].toString(),
                summary.count(),
                summary.sum().setScale(2).toPlainString());
    }

    /** {@code {"from","to","count","sum"}}, in that order. */
    public record WindowSummary(String from, String to, long count, String sum) {}

    /** [from, to) as instants; each defaults to the edge of the kept months. */
    private Instant[] window(String from, String to) {
        YearMonth now = partitions.currentMonth();
        Instant start = from == null ? Partitions.start(now.minusYears(100)) : instant("from", from);
        Instant end = to == null ? Partitions.start(now.plusYears(100)) : instant("to", to);
        if (!start.isBefore(end)) {
            throw ApiErrors.error(Response.Status.BAD_REQUEST, "from must be before to");
        }
        return new Instant[] {start, end};
    }

    /** The 422 for an insert that found no user of the caller's organisation, counted if another organisation has it. */
    private WebApplicationException unknownUser(TransactionWriteDao transactions, NewTransaction body) {
        if (transactions.userExists(body.userId())) {
            refusals.crossTenant();
        }
        return ApiErrors.invalid("userId " + body.userId() + " does not exist");
    }

    private static Timestamp at(Instant instant) {
        return Timestamp.from(instant);
    }

    private WebApplicationException outsidePartitions(NewTransaction body) {
        return ApiErrors.invalid("createdAt must fall in a month that has a partition, normally " + partitions.window()
                + " (UTC); it is " + body.createdAt());
    }

    /**
     * Years 1 to 9999: a java.sql.Timestamp overflows near Instant's own limits and PostgreSQL
     * refuses timestamps past 294276 AD, both of which would otherwise surface as a 500.
     */
    static boolean supported(Instant instant) {
        return !instant.isBefore(EARLIEST) && instant.isBefore(AFTER_LATEST);
    }

    private static Instant instant(String name, String value) {
        Instant instant;
        try {
            instant = Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw ApiErrors.error(
                    Response.Status.BAD_REQUEST, name + " must be an ISO-8601 instant such as 2024-05-01T00:00:00Z");
        }
        if (!supported(instant)) {
            throw ApiErrors.error(
                    Response.Status.BAD_REQUEST,
                    name + " must be an instant from " + EARLIEST + " to before " + AFTER_LATEST);
        }
        return instant;
    }
}
