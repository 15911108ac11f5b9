package dev.fortress.auth;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a key may do. A route names the scope it needs in {@code @RolesAllowed}; a key has one or
 * more. {@code admin} is the scope to create users whose role is {@code admin} (by POST /users or in
 * an import), on top of {@code write} or {@code import}.
 */
public final class Scopes {

    public static final String READ = "read";
    public static final String WRITE = "write";
    public static final String IMPORT = "import";
    public static final String ADMIN = "admin";
    public static final List<String> ALL = List.of(READ, WRITE, IMPORT, ADMIN);

    private Scopes() {}

    /** {@code read,write} to its scopes, in the order of {@link #ALL}; refuses an unknown or empty list. */
    public static Set<String> parse(String csv) {
        Set<String> wanted = new LinkedHashSet<>();
        for (String part : csv.split(",", -1)) {
            String scope = part.strip().toLowerCase(Locale.ROOT);
            if (!ALL.contains(scope)) {
                throw new IllegalArgumentException(
                        "unknown scope '" + part.strip() + "': scopes are " + String.join(",", ALL));
            }
            wanted.add(scope);
        }
        Set<String> ordered = new LinkedHashSet<>();
        ALL.stream().filter(wanted::contains).forEach(ordered::add);
        return ordered;
    }
}
