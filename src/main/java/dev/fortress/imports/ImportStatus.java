package dev.fortress.imports;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.UUID;

/**
 * {@code GET /imports/{id}}: where an import stands ({@code status} is an {@link ImportState}'s
 * spelling). {@code reason} says why one failed.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ImportStatus(
        UUID importId,
        String status,
        long rowsTotal,
        long rowsImported,
        long rowsRejected,
        List<RowError> errors,
        String reason) {

    public record RowError(long line, String message) {}
}
