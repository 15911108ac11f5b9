package dev.fortress.db;

/** JDBC URLs as they may be shown to people: host, port and database, never parameters. */
public final class JdbcUrls {

    private JdbcUrls() {
    }

    /** {@code jdbc:postgresql://h:5432/db?password=x} becomes {@code h:5432/db}. */
    public static String redact(String jdbcUrl) {
        String rest = jdbcUrl.replaceFirst("^jdbc:postgresql://", "");
        int query = rest.indexOf('?');
        return query < 0 ? rest : rest.substring(0, query);
    }
}
