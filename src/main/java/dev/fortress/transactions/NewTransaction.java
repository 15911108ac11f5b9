package dev.fortress.transactions;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Positive;
import java.time.Instant;

/** The body of {@code POST /transactions}. */
public record NewTransaction(
        @NotNull @Positive Long userId,

        @NotNull
        @Pattern(
                regexp = "-?[0-9]{1,12}(\\.[0-9]{1,2})?",
                message = "must be a decimal string with at most 12 digits before and 2 after the point")
        String amount,

        @NotNull Instant createdAt) {}
