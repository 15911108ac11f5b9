package dev.fortress.transactions;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.OffsetDateTime;

/** A transaction as served: amount a decimal string with 2 places, createdAt an ISO-8601 instant. */
public record Transaction(long id, long userId, String amount, String createdAt) {

    /** A row as served. */
    public static Transaction of(long id, long userId, BigDecimal amount, Instant createdAt) {
        return new Transaction(id, userId, amount.setScale(2).toPlainString(), createdAt.toString());
    }

    /**
     * A transaction read from JSON, as a stored answer to a keyed write is: PostgreSQL's
     * ({@code "amount" : 12.50, "createdAt" : "2024-05-03T12:00:00+02:00"}, see
     * {@link TransactionWriteDao#INSERT_CLAIMED}) or this record's own; either is served as this record writes it.
     */
    @JsonCreator
    static Transaction read(
            @JsonProperty("id") long id,
            @JsonProperty("userId") long userId,
            @JsonProperty("amount") BigDecimal amount,
            @JsonProperty("createdAt") OffsetDateTime createdAt) {
        return of(id, userId, amount, createdAt.toInstant());
    }
}
