package dev.fortress.db;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The writer's WAL position after a commit ({@code X-Consistency-Token}, e.g. "0/16B3748"). A
 * read that carries it may be served by a replica only once that replica has replayed past it.
 * {@code position} is the 64-bit LSN: compare positions with {@link Long#compareUnsigned}
 * ({@code FFFFFFFF/FFFFFFFF} is the largest, though negative as a long).
 */
public record ConsistencyToken(long position) {

    private static final Pattern LSN = Pattern.compile("([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})");

    /** An LSN as PostgreSQL prints it; anything else is an IllegalArgumentException. */
    public static ConsistencyToken parse(String lsn) {
        Matcher m = LSN.matcher(lsn == null ? "" : lsn.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a WAL position: " + lsn);
        }
        return new ConsistencyToken((Long.parseLong(m.group(1), 16) << 32) | Long.parseLong(m.group(2), 16));
    }

    /** Empty when the header is absent or malformed (such a read goes to the writer). */
    public static Optional<ConsistencyToken> fromHeader(String header) {
        try {
            return header == null ? Optional.empty() : Optional.of(parse(header));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    @Override
    public String toString() {
        return Long.toHexString(position >>> 32).toUpperCase() + "/"
                + Long.toHexString(position & 0xFFFFFFFFL).toUpperCase();
    }
}
