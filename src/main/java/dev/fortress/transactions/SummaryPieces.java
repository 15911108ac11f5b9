package dev.fortress.transactions;

import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * A summary window [from, to) cut into the pieces that {@code TransactionReadDao.summary} adds up in
 * one statement, so that its cost does not grow with the window: the partial minutes at each end
 * ({@code head}, {@code tail}, under a minute each) counted from {@code transactions}; the whole
 * minutes between them as rollups of the largest UTC grain that fits (minutes up to the first whole
 * hour, hours up to the first whole day, days up to the first whole month, months, then days, hours
 * and minutes again), plus the deltas of those same minutes that no rollup has absorbed yet. So a
 * summary reads under two minutes of raw rows and at most 2 x 59 minute rollups, whatever its ends.
 * Each piece is [from, to); an unused one is empty (from = to). A window inside one minute is its
 * raw range alone.
 */
public record SummaryPieces(
        Range head,
        Range tail,
        Range minutesHead,
        Range minutesTail,
        Range hoursHead,
        Range hoursTail,
        Range daysHead,
        Range daysTail,
        Range months,
        Range deltas) {

    /** [from, to); empty when from = to. */
    public record Range(Instant from, Instant to) {
        static Range empty(Instant at) {
            return new Range(at, at);
        }

        boolean isEmpty() {
            return from.equals(to);
        }
    }

    /** True when the window starts and ends on whole minutes: no raw rows to count at its ends. */
    public boolean onWholeMinutes() {
        return head.isEmpty() && tail.isEmpty();
    }

    public static SummaryPieces of(Instant from, Instant to) {
        if (!from.isBefore(to)) {
            throw new IllegalArgumentException("from must be before to: " + from + ", " + to);
        }
        Range none = Range.empty(to);
        Instant m1 = ceil(from, ChronoUnit.MINUTES);
        Instant m2 = to.truncatedTo(ChronoUnit.MINUTES);
        if (!m1.isBefore(m2)) {
            return new SummaryPieces(new Range(from, to), none, none, none, none, none, none, none, none, none);
        }
        Range head = new Range(from, m1);
        Range tail = new Range(m2, to);
        Range deltas = new Range(m1, m2);
        Instant h1 = ceil(m1, ChronoUnit.HOURS);
        Instant h2 = m2.truncatedTo(ChronoUnit.HOURS);
        if (h1.isAfter(h2)) { // inside one hour
            return new SummaryPieces(head, tail, deltas, none, none, none, none, none, none, deltas);
        }
        Range minutesHead = new Range(m1, h1);
        Range minutesTail = new Range(h2, m2);
        if (h1.equals(h2)) { // across one hour's start: no whole hour
            return new SummaryPieces(head, tail, minutesHead, minutesTail, none, none, none, none, none, deltas);
        }
        Instant d1 = ceil(h1, ChronoUnit.DAYS);
        Instant d2 = h2.truncatedTo(ChronoUnit.DAYS);
        if (!d1.isBefore(d2)) {
            return new SummaryPieces(
                    head, tail, minutesHead, minutesTail, new Range(h1, h2), none, none, none, none, deltas);
        }
        Range hoursHead = new Range(h1, d1);
        Range hoursTail = new Range(d2, h2);
        Instant mo1 = ceilMonth(d1);
        Instant mo2 = floorMonth(d2);
        if (!mo1.isBefore(mo2)) {
            return new SummaryPieces(
                    head, tail, minutesHead, minutesTail, hoursHead, hoursTail, new Range(d1, d2), none, none, deltas);
        }
        return new SummaryPieces(
                head,
                tail,
                minutesHead,
                minutesTail,
                hoursHead,
                hoursTail,
                new Range(d1, mo1),
                new Range(mo2, d2),
                new Range(mo1, mo2),
                deltas);
    }

    /** The first instant on a whole {@code unit} at or after {@code t} (minutes, hours, days: UTC). */
    private static Instant ceil(Instant t, ChronoUnit unit) {
        Instant floor = t.truncatedTo(unit);
        return floor.equals(t) ? t : floor.plus(1, unit);
    }

    private static Instant floorMonth(Instant t) {
        return Partitions.start(YearMonth.from(t.atZone(ZoneOffset.UTC)));
    }

    private static Instant ceilMonth(Instant t) {
        Instant floor = floorMonth(t);
        return floor.equals(t)
                ? t
                : Partitions.start(YearMonth.from(t.atZone(ZoneOffset.UTC)).plusMonths(1));
    }
}
