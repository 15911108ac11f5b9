package dev.fortress.imports;

import com.fasterxml.jackson.annotation.JsonValue;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.jdbi.v3.core.mapper.ColumnMapper;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Where an import stands, spelt as {@code imports.status} holds it and as
 * {@code GET /imports/{id}} answers it (docs/api.md). The check constraint
 * {@code imports_status_check} (migrations/changelog.xml) lists the same five, and ImportDao's SQL
 * spells them as it does; ImportStateTest keeps this enum and the constraint equal.
 */
public enum ImportState {
    /** The body is being stored; GET answers 404 until it is. */
    UPLOADING("uploading"),
    QUEUED("queued"),
    PROCESSING("processing"),
    SUCCEEDED("succeeded"),
    FAILED("failed");

    private final String value;

    ImportState(String value) {
        this.value = value;
    }

    /** The database's and the API's spelling. */
    @JsonValue
    public String value() {
        return value;
    }

    /** The state spelt {@code value}; an unknown spelling is a bug, not a state. */
    public static ImportState of(String value) {
        for (ImportState state : values()) {
            if (state.value.equals(value)) {
                return state;
            }
        }
        throw new IllegalArgumentException("not an import state: " + value);
    }

    /** Whether a run of the job has work left: not started, or started by a run that died. */
    boolean unfinished() {
        return this == QUEUED || this == PROCESSING;
    }

    /** Reads {@code imports.status}. */
    public static final class Column implements ColumnMapper<ImportState> {
        @Override
        public ImportState map(ResultSet rs, int column, StatementContext ctx) throws SQLException {
            return of(rs.getString(column));
        }
    }
}
