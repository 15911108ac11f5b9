package dev.fortress.imports;

import dev.fortress.users.NewUser;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Rows read since the last hand-over to the committer, already COPY-encoded, and their errors. */
final class ImportBatch {

    private final ByteArrayOutputStream copy = new ByteArrayOutputStream(1 << 20);
    final List<ImportStatus.RowError> errors = new ArrayList<>();
    final Set<Long> orgs = new HashSet<>();
    /** The line of each staged row, by its place in the batch. */
    private long[] lines = new long[1024];

    long lastLine;
    int staged;
    long total;

    void add(CsvRecordReader.Record record, RowValidator.Outcome outcome) {
        total++;
        lastLine = record.line();
        if (outcome instanceof RowValidator.Valid valid) {
            encode(valid.user());
            orgs.add(valid.user().orgId());
            if (staged == lines.length) {
                lines = Arrays.copyOf(lines, staged * 2);
            }
            lines[staged++] = record.line();
        } else {
            reject(record.line(), ((RowValidator.Invalid) outcome).message());
        }
    }

    /** Bounded by the batch's size; trimmed to the import's first errors when committed. */
    void reject(long line, String message) {
        errors.add(new ImportStatus.RowError(line, message));
    }

    /** The line of the staged row at {@code pos} (1-based, as the staging table numbers them). */
    long line(int pos) {
        return lines[pos - 1];
    }

    /** The staged rows as COPY ... (format csv) reads them. */
    byte[] copyRows() {
        return copy.toByteArray();
    }

    private void encode(NewUser user) {
        String row = quote(user.email()) + "," + user.role() + "," + user.orgId() + "," + user.age() + "\n";
        copy.writeBytes(row.getBytes(StandardCharsets.UTF_8));
    }

    private static String quote(String text) {
        return "\"" + text.replace("\"", "\"\"") + "\"";
    }
}
