package dev.fortress.http;

import java.util.OptionalLong;

/**
 * A numeric id from a path segment, without an exception for one that is not: on a hot route a
 * scan of random or garbage ids must cost no more than a hit, and an exception per miss (Jersey's
 * own for a {@code long} parameter that does not parse, or {@code Long.parseLong}'s) fills a
 * stack trace each time. Accepts exactly what {@code Long.parseLong} accepts in decimal, but '+'.
 */
public final class PathIds {

    private static final String MAX = Long.toString(Long.MAX_VALUE);
    private static final String MIN_DIGITS = Long.toString(Long.MIN_VALUE).substring(1);

    private PathIds() {}

    /** The long the segment spells in decimal digits (an optional leading '-'), or empty. */
    public static OptionalLong parse(String segment) {
        if (segment == null || segment.isEmpty()) {
            return OptionalLong.empty();
        }
        boolean negative = segment.charAt(0) == '-';
        int start = negative ? 1 : 0;
        int digits = segment.length() - start;
        String limit = negative ? MIN_DIGITS : MAX;
        if (digits == 0 || digits > limit.length()) {
            return OptionalLong.empty();
        }
        long value = 0; // accumulated negatively: Long.MIN_VALUE has no positive counterpart
        for (int i = start; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (c < '0' || c > '9') {
                return OptionalLong.empty();
            }
            value = value * 10 - (c - '0');
        }
        // As many digits as the limit may overflow; digit strings of equal length order like numbers.
        if (digits == limit.length() && segment.substring(start).compareTo(limit) > 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(negative ? value : -value);
    }
}
