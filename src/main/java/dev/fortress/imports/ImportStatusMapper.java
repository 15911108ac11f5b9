package dev.fortress.imports;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Maps an imports row, whose errors are a jsonb array, to what {@code GET /imports/{id}} shows;
 * and writes that array (the import job appends to it), so the format lives in one class. Registered
 * on the writer's Jdbi ({@link Imports}), with the application's ObjectMapper.
 */
public final class ImportStatusMapper implements RowMapper<ImportStatus> {

    private static final TypeReference<List<ImportStatus.RowError>> ERRORS = new TypeReference<>() {};

    private final ObjectMapper json;

    public ImportStatusMapper(ObjectMapper json) {
        this.json = json;
    }

    String errorsJson(List<ImportStatus.RowError> errors) {
        try {
            return json.writeValueAsString(errors);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public ImportStatus map(ResultSet rs, StatementContext ctx) throws SQLException {
        try {
            return new ImportStatus(
                    rs.getObject("id", UUID.class),
                    ImportState.of(rs.getString("status")).value(),
                    rs.getLong("rows_total"),
                    rs.getLong("rows_imported"),
                    rs.getLong("rows_rejected"),
                    json.readValue(rs.getString("errors"), ERRORS),
                    rs.getString("reason"));
        } catch (JsonProcessingException e) {
            throw new SQLException("imports.errors is not a JSON array of row errors", e);
        }
    }
}
