package dev.fortress.db;

import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** JDBC URLs as they may be shown to people (host, port and database, never parameters), and their hosts. */
public final class JdbcUrls {

    private static final Pattern URL = Pattern.compile("^(jdbc:postgresql://)([^/?]*)(.*)$");

    private JdbcUrls() {}

    /** {@code jdbc:postgresql://h:5432/db?password=x} becomes {@code h:5432/db}. */
    public static String redact(String jdbcUrl) {
        String rest = jdbcUrl.replaceFirst("^jdbc:postgresql://", "");
        int query = rest.indexOf('?');
        return query < 0 ? rest : rest.substring(0, query);
    }

    /**
     * The hosts of a URL in pgjdbc's multi-host form ({@code jdbc:postgresql://h1:5433,h2:5434/db}),
     * in order, each as {@code host:port} (5432 when the URL gives none).
     */
    public static List<String> hosts(String jdbcUrl) {
        Matcher m = URL.matcher(jdbcUrl);
        if (!m.matches() || m.group(2).isEmpty()) {
            throw new IllegalArgumentException(
                    "not a jdbc:postgresql://host[:port][,host[:port]...]/database URL: " + redact(jdbcUrl));
        }
        return Arrays.stream(m.group(2).split(","))
                .map(String::trim)
                .map(h -> h.matches(".*:[0-9]+$") ? h : h + ":5432")
                .toList();
    }

    /** The same URL (database, parameters) with only {@code host} ({@code host:port}). */
    public static String withHost(String jdbcUrl, String host) {
        Matcher m = URL.matcher(jdbcUrl);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a jdbc:postgresql:// URL: " + redact(jdbcUrl));
        }
        return m.group(1) + host + m.group(3);
    }
}
