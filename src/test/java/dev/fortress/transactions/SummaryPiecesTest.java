package dev.fortress.transactions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.transactions.SummaryPieces.Range;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** How a summary window is cut: in order, without gaps or overlaps, each rollup piece on its grain. */
class SummaryPiecesTest {

    private static final long SEED = Long.getLong("fortress.seed", 15L);

    @Test
    void aWindowInsideOneMinuteIsItsRawRangeAlone() {
        Instant from = Instant.parse("2026-05-03T10:15:10Z");
        Instant to = Instant.parse("2026-05-03T10:16:50Z");

        SummaryPieces pieces = SummaryPieces.of(from, to);

        assertThat(pieces.head()).isEqualTo(new Range(from, to));
        assertThat(nonEmpty(pieces)).containsExactly(pieces.head());
    }

    @Test
    void aWindowInsideOneHourIsMinuteRollupsAndTheirDeltasBetweenPartialMinutes() {
        SummaryPieces pieces =
                SummaryPieces.of(Instant.parse("2026-05-03T10:15:10Z"), Instant.parse("2026-05-03T11:00:00Z"));

        assertThat(pieces.head()).isEqualTo(range("2026-05-03T10:15:10Z", "2026-05-03T10:16:00Z"));
        assertThat(pieces.minutesHead()).isEqualTo(range("2026-05-03T10:16:00Z", "2026-05-03T11:00:00Z"));
        assertThat(pieces.deltas()).isEqualTo(pieces.minutesHead());
        assertThat(nonEmpty(pieces)).containsExactly(pieces.head(), pieces.minutesHead(), pieces.deltas());
        assertThat(pieces.onWholeMinutes()).isFalse();
        assertThat(SummaryPieces.of(Instant.parse("2026-05-03T10:15:00Z"), Instant.parse("2026-05-03T11:00:00Z"))
                        .onWholeMinutes())
                .as("no raw rows on whole minutes")
                .isTrue();
    }

    @Test
    void aYearFromMidMonthUsesMonthsBetweenDaysHoursAndMinutesAtItsEnds() {
        SummaryPieces pieces =
                SummaryPieces.of(Instant.parse("2025-03-14T09:30:20Z"), Instant.parse("2026-03-20T17:45:10Z"));

        assertThat(pieces.head()).isEqualTo(range("2025-03-14T09:30:20Z", "2025-03-14T09:31:00Z"));
        assertThat(pieces.minutesHead()).isEqualTo(range("2025-03-14T09:31:00Z", "2025-03-14T10:00:00Z"));
        assertThat(pieces.hoursHead()).isEqualTo(range("2025-03-14T10:00:00Z", "2025-03-15T00:00:00Z"));
        assertThat(pieces.daysHead()).isEqualTo(range("2025-03-15T00:00:00Z", "2025-04-01T00:00:00Z"));
        assertThat(pieces.months()).isEqualTo(range("2025-04-01T00:00:00Z", "2026-03-01T00:00:00Z"));
        assertThat(pieces.daysTail()).isEqualTo(range("2026-03-01T00:00:00Z", "2026-03-20T00:00:00Z"));
        assertThat(pieces.hoursTail()).isEqualTo(range("2026-03-20T00:00:00Z", "2026-03-20T17:00:00Z"));
        assertThat(pieces.minutesTail()).isEqualTo(range("2026-03-20T17:00:00Z", "2026-03-20T17:45:00Z"));
        assertThat(pieces.tail()).isEqualTo(range("2026-03-20T17:45:00Z", "2026-03-20T17:45:10Z"));
        assertThat(pieces.deltas()).isEqualTo(range("2025-03-14T09:31:00Z", "2026-03-20T17:45:00Z"));
    }

    @Test
    void randomWindowsAreTiledInOrderWithEachRollupPieceOnItsGrain() {
        Random random = new Random(SEED);
        Instant base = Instant.parse("2026-01-01T00:00:00Z");
        for (int i = 0; i < 20_000; i++) {
            Instant from = base.plusSeconds(random.nextLong(-800L * 86_400, 800L * 86_400));
            Instant to = from.plusSeconds(1
                    + random.nextLong(
                            switch (random.nextInt(4)) {
                                case 0 -> 3_600;
                                case 1 -> 86_400 * 3;
                                case 2 -> 86_400 * 70;
                                default -> 86_400 * 800;
                            }));
            if (random.nextBoolean()) {
                from = from.truncatedTo(random.nextBoolean() ? ChronoUnit.HOURS : ChronoUnit.MINUTES);
            }
            if (random.nextBoolean()) {
                to = to.truncatedTo(ChronoUnit.DAYS);
            }
            if (!from.isBefore(to)) {
                continue;
            }
            String where = "seed " + SEED + ", window [" + from + ", " + to + ")";
            SummaryPieces p = SummaryPieces.of(from, to);

            List<Range> inOrder = List.of(
                    p.head(),
                    p.minutesHead(),
                    p.hoursHead(),
                    p.daysHead(),
                    p.months(),
                    p.daysTail(),
                    p.hoursTail(),
                    p.minutesTail(),
                    p.tail());
            Instant at = from;
            for (Range piece : inOrder) {
                if (!piece.isEmpty()) {
                    assertThat(piece.from())
                            .as(where + ": pieces follow each other")
                            .isEqualTo(at);
                    assertThat(piece.from()).as(where).isBefore(piece.to());
                    at = piece.to();
                }
            }
            assertThat(at).as(where + ": pieces end at to").isEqualTo(to);
            for (Range minutes : List.of(p.minutesHead(), p.minutesTail(), p.deltas())) {
                assertThat(aligned(minutes, ChronoUnit.MINUTES))
                        .as(where + ": minutes " + minutes)
                        .isTrue();
            }
            // At most 59 minute rollups at each end.
            assertThat(p.minutesHead().to().toEpochMilli()
                            - p.minutesHead().from().toEpochMilli())
                    .as(where)
                    .isLessThan(3_600_000);
            assertThat(p.minutesTail().to().toEpochMilli()
                            - p.minutesTail().from().toEpochMilli())
                    .as(where)
                    .isLessThan(3_600_000);
            for (Range hours : List.of(p.hoursHead(), p.hoursTail())) {
                assertThat(aligned(hours, ChronoUnit.HOURS))
                        .as(where + ": hours " + hours)
                        .isTrue();
            }
            for (Range days : List.of(p.daysHead(), p.daysTail())) {
                assertThat(aligned(days, ChronoUnit.DAYS))
                        .as(where + ": days " + days)
                        .isTrue();
            }
            assertThat(monthStart(p.months().from()) && monthStart(p.months().to())
                            || p.months().isEmpty())
                    .as(where + ": months " + p.months())
                    .isTrue();
            // Raw rows are at most the partial minutes at the ends (together under two minutes, no whole
            // minute between).
            assertThat(p.head().to().toEpochMilli() - p.head().from().toEpochMilli())
                    .as(where)
                    .isLessThan(p.deltas().isEmpty() ? 120_000 : 60_000);
            assertThat(p.tail().to().toEpochMilli() - p.tail().from().toEpochMilli())
                    .as(where)
                    .isLessThan(60_000);
            if (!p.deltas().isEmpty()) {
                assertThat(p.deltas().from())
                        .as(where + ": deltas cover the rollup pieces")
                        .isEqualTo(p.head().isEmpty() ? from : p.head().to());
                assertThat(p.deltas().to())
                        .as(where)
                        .isEqualTo(p.tail().isEmpty() ? to : p.tail().from());
            }
        }
    }

    private static Range range(String from, String to) {
        return new Range(Instant.parse(from), Instant.parse(to));
    }

    private static List<Range> nonEmpty(SummaryPieces p) {
        List<Range> all = new ArrayList<>();
        for (Range r : List.of(
                p.head(),
                p.tail(),
                p.minutesHead(),
                p.minutesTail(),
                p.hoursHead(),
                p.hoursTail(),
                p.daysHead(),
                p.daysTail(),
                p.months(),
                p.deltas())) {
            if (!r.isEmpty()) {
                all.add(r);
            }
        }
        return all;
    }

    private static boolean aligned(Range range, ChronoUnit unit) {
        return range.isEmpty()
                || range.from().truncatedTo(unit).equals(range.from())
                        && range.to().truncatedTo(unit).equals(range.to());
    }

    private static boolean monthStart(Instant t) {
        ZonedDateTime utc = t.atZone(ZoneOffset.UTC);
        return utc.getDayOfMonth() == 1 && utc.toLocalTime().toSecondOfDay() == 0 && utc.getNano() == 0;
    }
}
