package dev.fortress.transactions;

/** A transaction as served: amount a decimal string with 2 places, createdAt an ISO-8601 instant. */
public record Transaction(long id, long userId, String amount, String createdAt) {
}
