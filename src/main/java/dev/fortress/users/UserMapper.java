package dev.fortress.users;

import java.sql.ResultSet;
import java.sql.SQLException;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Maps a users row by column position, as the DAOs select it ({@code id, email, role, org_id,
 * age}). Written out rather than JDBI's reflective constructor mapper, which matches columns to
 * parameters and checks nullability again on every query: on GET /users/{id} that was a few per
 * cent of the request's CPU (bench/results/2026-11-27-tuning.md).
 */
public final class UserMapper implements RowMapper<User> {

    @Override
    public User map(ResultSet rs, StatementContext ctx) throws SQLException {
        return new User(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getInt(5));
    }
}
