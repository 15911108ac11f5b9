package dev.fortress.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Fields of a {@code GET /imports/{id}} answer (docs/api.md), read from its JSON as {@link Http#json} gives it. */
public final class ImportStatus {

    private ImportStatus() {}

    public static long imported(Map<String, Object> status) {
        return ((Number) status.get("rowsImported")).longValue();
    }

    /** The line numbers of the rows the import reported as refused, in its order. */
    public static List<Long> errorLines(Map<String, Object> status) {
        List<Long> lines = new ArrayList<>();
        for (Object error : (List<?>) status.get("errors")) {
            lines.add(((Number) ((Map<?, ?>) error).get("line")).longValue());
        }
        return lines;
    }
}
