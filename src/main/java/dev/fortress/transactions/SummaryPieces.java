package dev.fortress.transactions;

import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * A summary window [from, to) cut into the pieces that {@code TransactionReads.summary} adds up in
 * one statement, so that its cost does not grow with the window: the partial hours at each end
 * ({@code head}, {@code tail}) counted from {@code transactions}; the whole hours between them as
 * rollups of the largest UTC grain that fits (hours up to the first whole day, days up to the first
 * whole month, months, then days and hours again), plus the deltas of those same hours that no
 * rollup has absorbed yet. Each piece is [from, to); an unused one is empty (from = to). A window
 * inside one hour is its raw range alone.
 */
public record SummaryPieces(Range head, Range tail, Range hoursHead, Range hoursTail, Range daysHead,
                            Range daysTail, Range months, Range deltas) {

    /** [from, to); empty when from = to. */
    public record Range(Instant from, Instant to) {
        static Range empty(Instant at) {
            return new Range(at, at);
        }

        boolean isEmpty() {
            return from.equals(to);
        }
    }

    /** True when the window starts and ends on whole hours: no raw rows to count at its ends. */
    public boolean onWholeHours() {
        return head.isEmpty() && tail.isEmpty();
    }

    public static SummaryPieces of(Instant from, Instant to) {
        if (!from.isBefore(to)) {
            throw new IllegalArgumentException("from must be before to: " + from + ", " + to);
        }
        Range none = Range.empty(to);
        Instant h1 = ceilHour(from);
        Instant h2 = to.truncatedTo(ChronoUnit.HOURS);
        if (!h1.isBefore(h2)) {
            return new SummaryPieces(new Range(from, to), none, none, none, none, none, none, none);
        }
        Range head = new Range(from, h1);
        Range tail = new Range(h2, to);
        Range deltas = new Range(h1, h2);
        Instant d1 = ceilDay(h1);
        Instant d2 = h2.truncatedTo(ChronoUnit.DAYS);
        if (!d1.isBefore(d2)) {
            return new SummaryPieces(head, tail, deltas, none, none, none, none, deltas);
        }
        Range hoursHead = new Range(h1, d1);
        Range hoursTail = new Range(d2, h2);
        Instant m1 = ceilMonth(d1);
        Instant m2 = floorMonth(d2);
        if (!m1.isBefore(m2)) {
            return new SummaryPieces(head, tail, hoursHead, hoursTail, new Range(d1, d2), none, none, deltas);
        }
        return new SummaryPieces(head, tail, hoursHead, hoursTail, new Range(d1, m1), new Range(m2, d2),
                new Range(m1, m2), deltas);
    }

    private static Instant ceilHour(Instant t) {
        Instant floor = t.truncatedTo(ChronoUnit.HOURS);
        return floor.equals(t) ? t : floor.plus(1, ChronoUnit.HOURS);
    }

    private static Instant ceilDay(Instant t) {
        Instant floor = t.truncatedTo(ChronoUnit.DAYS);
        return floor.equals(t) ? t : floor.plus(1, ChronoUnit.DAYS);
    }

    private static Instant floorMonth(Instant t) {
        return Partitions.start(YearMonth.from(t.atZone(ZoneOffset.UTC)));
    }

    private static Instant ceilMonth(Instant t) {
        Instant floor = floorMonth(t);
        return floor.equals(t) ? t : Partitions.start(YearMonth.from(t.atZone(ZoneOffset.UTC)).plusMonths(1));
    }
}
