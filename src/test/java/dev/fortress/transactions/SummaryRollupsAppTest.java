package dev.fortress.transactions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.db.ConsistencyTokenFeature;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.math.BigDecimal;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * GET /transactions/summary over HTTP, as each of several organisations (a key each), against
 * count(*) and sum(amount) of that organisation's rows on the writer, with rollups run
 * (POST :8081/tasks/rollups) at random points and otherwise not at all: the rollups' interval job is
 * set an hour apart (its first run an hour after the start) so that the test decides when rollups happen.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class SummaryRollupsAppTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            ConfigOverride.config("transactions.rollupInterval", "1h"),
            ConfigOverride.config("transactions.rollupMaxLag", "300ms"));
    /** Fixed, so a failure repeats; -Dfortress.seed=... tries others. */
    private static final long SEED = Long.getLong("fortress.seed", 20261215L);

    private static final String LAG = "dev.fortress.transactions.rollups.lag-seconds";

    /** The organisations that write, each with one user; the first is DB.aUser's. */
    private static final List<Long> ORGS = List.of(1L, 2L, 3L);
    /** An organisation with a key and no transactions: its summaries are empty. */
    private static final long WITHOUT_ROWS = 4;

    private static final Map<Long, Long> USERS = new LinkedHashMap<>();
    private static final Map<Long, String> KEYS = new LinkedHashMap<>();

    /** One client (and its connections) for the whole test, called as one organisation or another. */
    private Http api;

    @BeforeAll
    static void usersAndKeys() {
        USERS.put(ORGS.get(0), DB.aUser("s@x.io"));
        for (long org : ORGS.subList(1, ORGS.size())) {
            USERS.put(
                    org,
                    DB.jdbi()
                            .withHandle(h -> h.createQuery("insert into users (email, role, org_id, age) "
                                            + "values (:email, 'member', :org, 40) returning id")
                                    .bind("email", "s" + org + "@x.io")
                                    .bind("org", org)
                                    .mapTo(Long.class)
                                    .one()));
        }
        for (long org : ORGS) {
            KEYS.put(org, TestKeys.of(DB, org));
        }
        KEYS.put(WITHOUT_ROWS, TestKeys.of(DB, WITHOUT_ROWS));
    }

    @BeforeEach
    void client() {
        api = new Http("127.0.0.1", APP.getLocalPort());
    }

    @Test
    void summariesEqualTheRowsForRandomWritesWindowsAndRollupRuns() throws Exception {
        Random random = new Random(SEED);
        YearMonth now = YearMonth.now(ZoneOffset.UTC);
        // Writes and window edges crowd around these: month, day and hour boundaries, and the present.
        List<Instant> hotspots = List.of(
                Partitions.start(now),
                Partitions.start(now.minusMonths(1)),
                Partitions.start(now.minusMonths(7)),
                Partitions.start(now.plusMonths(1)),
                Instant.now().truncatedTo(ChronoUnit.HOURS),
                Instant.now().truncatedTo(ChronoUnit.DAYS),
                Instant.now().minus(3, ChronoUnit.DAYS).truncatedTo(ChronoUnit.HOURS));
        Instant earliest = Partitions.start(now.minusMonths(23));
        Instant latest = Partitions.start(now.plusMonths(3));
        for (int round = 0; round < 25; round++) {
            String where = "seed " + SEED + ", round " + round;
            // Several writers at once, sometimes with a rollup running beside them.
            List<CompletableFuture<String>> writers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                long writerSeed = random.nextLong();
                int writes = 1 + random.nextInt(8);
                writers.add(CompletableFuture.supplyAsync(
                        () -> write(new Random(writerSeed), writes, hotspots, earliest, latest)));
            }
            CompletableFuture<Void> rollup = random.nextInt(3) == 0
                    ? CompletableFuture.runAsync(this::rollUp)
                    : CompletableFuture.completedFuture(null);
            String token = null;
            for (CompletableFuture<String> writer : writers) {
                token = writer.get();
            }
            rollup.get();
            if (random.nextInt(4) == 0) {
                changeRowsInPlace(random);
            }
            if (random.nextInt(3) == 0) {
                rollUp();
            }
            for (int read = 0; read < 12; read++) {
                String[] window = window(random, hotspots);
                assertSummaryIsExact(where + ", read " + read, window[0], window[1], token);
                if (random.nextInt(6) == 0) {
                    rollUp();
                }
            }
        }
    }

    @Test
    void aWriteNotRolledUpIsCountedFromItsDelta() {
        rollUp();
        Instant hour = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(30, ChronoUnit.DAYS);
        String token = null;
        List<String> writes = List.of(
                hour.toString(),
                hour.plusSeconds(61).toString(),
                hour.plus(2, ChronoUnit.DAYS).toString());
        for (int i = 0; i < writes.size(); i++) { // one write of each organisation
            token = post(ORGS.get(i), "7.77", writes.get(i))
                    .headers()
                    .firstValue(ConsistencyTokenFeature.HEADER)
                    .orElseThrow();
        }
        assertThat(pendingDeltas()).as("the job has not run").isEqualTo(3);

        String month =
                Partitions.start(YearMonth.from(hour.atZone(ZoneOffset.UTC))).toString();
        String nextMonth = Partitions.start(
                        YearMonth.from(hour.atZone(ZoneOffset.UTC)).plusMonths(1))
                .toString();
        List<String[]> windows = List.of(
                new String[] {hour.toString(), hour.plus(1, ChronoUnit.HOURS).toString()},
                new String[] {
                    hour.minus(5, ChronoUnit.DAYS).toString(),
                    hour.plus(5, ChronoUnit.DAYS).toString()
                },
                new String[] {month, nextMonth},
                new String[] {null, null});
        for (String[] w : windows) {
            assertSummaryIsExact("before the rollup", w[0], w[1], token);
        }
        assertThat(pendingDeltas()).as("reads leave the deltas where they are").isEqualTo(3);

        rollUp();
        assertThat(pendingDeltas()).isZero();
        for (String[] w : windows) {
            assertSummaryIsExact("after the rollup", w[0], w[1], token);
        }
    }

    @Test
    void theLagGaugeAndTheHealthLineFollowPendingWrites() {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        rollUp();
        long runs = metrics.meter("dev.fortress.transactions.rollups.runs");
        long deltas = metrics.meter("dev.fortress.transactions.rollups.deltas");
        eventually("lag 0 with nothing pending", () -> lag(metrics) == 0);
        assertThat(rollupsHealth().get("healthy")).isEqualTo(true);

        post(ORGS.get(0), "1.00", Instant.now().toString());

        eventually("lag above 0 with a delta pending", () -> lag(metrics) > 0);
        eventually(
                "rollups unhealthy past the 300 ms bound",
                () -> rollupsHealth().get("healthy").equals(false));
        assertThat((String) rollupsHealth().get("message"))
                .contains("more than the bound 300 milliseconds")
                .contains("POST :8081/tasks/rollups");
        assertThat(new Http("127.0.0.1", APP.getLocalPort())
                        .get("/health-check")
                        .statusCode())
                .as("non-critical: readiness stays up")
                .isEqualTo(200);

        rollUp();

        eventually("lag back to 0", () -> lag(metrics) == 0);
        eventually("rollups healthy again", () -> rollupsHealth().get("healthy").equals(true));
        assertThat(metrics.meter("dev.fortress.transactions.rollups.runs")).isEqualTo(runs + 1);
        assertThat(metrics.meter("dev.fortress.transactions.rollups.deltas")).isEqualTo(deltas + 1);
        assertThat(((Number) metrics.gauge("dev.fortress.transactions.rollups.max-lag-seconds")).doubleValue())
                .isEqualTo(0.3);
    }

    // ---------------------------------------------------------------- helpers

    /** Posts {@code count} transactions, each of a random organisation; the last one's consistency token. */
    private String write(Random random, int count, List<Instant> hotspots, Instant earliest, Instant latest) {
        String token = null;
        for (int i = 0; i < count; i++) {
            long org = ORGS.get(random.nextInt(ORGS.size()));
            Instant at = switch (random.nextInt(3)) {
                case 0 -> Instant.now(); // committed just before a read
                case 1 -> hotspots.get(random.nextInt(hotspots.size())).plusSeconds(random.nextInt(-5_400, 5_400));
                default -> earliest.plusSeconds(random.nextLong(latest.getEpochSecond() - earliest.getEpochSecond()));
            };
            if (at.isBefore(earliest) || !at.isBefore(latest)) {
                at = Instant.now();
            }
            String amount =
                    BigDecimal.valueOf(random.nextInt(-99_999, 99_999), 2).toPlainString();
            HttpResponse<String> created = post(org, amount, at.toString());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            token = created.headers().firstValue(ConsistencyTokenFeature.HEADER).orElseThrow();
        }
        return token;
    }

    /** Updates (moving rows between hours and months) and deletes through the parent table. */
    private static void changeRowsInPlace(Random random) {
        int modulo = 2 + random.nextInt(5);
        DB.jdbi().useHandle(h -> {
            h.execute("update transactions set amount = amount + 0.01, created_at = created_at + interval '37 minutes' "
                    + "where id % " + modulo + " = 0 and created_at < date_trunc('month', now()) + interval '1 month'");
            h.execute("delete from transactions where id % " + (modulo * 3 + 1) + " = 1");
        });
    }

    /** A window of one of the kinds a client asks for: sub-hour to a year, or open at either end. */
    private static String[] window(Random random, List<Instant> hotspots) {
        Instant from = hotspots.get(random.nextInt(hotspots.size())).plusSeconds(random.nextInt(-7_200, 7_200));
        if (random.nextInt(3) == 0) {
            from = from.truncatedTo(ChronoUnit.HOURS);
        }
        long seconds = switch (random.nextInt(7)) {
            case 0 -> random.nextInt(1, 3_600); // inside an hour or across one edge
            case 1 -> random.nextInt(3_600, 6 * 3_600); // across hours
            case 2 -> random.nextInt(86_400, 4 * 86_400); // across days
            case 3 -> random.nextInt(20 * 86_400, 70 * 86_400); // across months
            case 4 -> 365L * 86_400 + random.nextInt(-86_400, 86_400); // about a year
            default -> random.nextInt(1, 40 * 86_400);
        };
        Instant to = from.plusSeconds(seconds);
        return switch (random.nextInt(8)) {
            case 0 -> new String[] {null, to.toString()};
            case 1 -> new String[] {from.toString(), null};
            case 2 -> new String[] {null, null};
            default -> new String[] {from.toString(), to.toString()};
        };
    }

    /**
     * Each organisation's summary of the window equals count(*) and sum(amount) of its own rows on
     * the writer; the one without rows reads nothing; and the organisations' summaries add up to
     * every row of the window, so none counts another's.
     */
    private void assertSummaryIsExact(String where, String from, String to, String token) {
        StringBuilder query = new StringBuilder("/transactions/summary");
        String sep = "?";
        if (from != null) {
            query.append(sep).append("from=").append(from);
            sep = "&";
        }
        if (to != null) {
            query.append(sep).append("to=").append(to);
        }
        long count = 0;
        BigDecimal sum = BigDecimal.ZERO;
        Instant[] window = null;
        for (long org : ORGS) {
            Map<String, Object> summary = summary(org, query.toString(), token, where);
            window = new Instant[] {
                Instant.parse((String) summary.get("from")), Instant.parse((String) summary.get("to"))
            };
            Object[] rows = rows(org, window[0], window[1]);
            String what = where + ", org " + org + ", window [" + window[0] + ", " + window[1] + ") (" + query + ")";
            assertThat(((Number) summary.get("count")).longValue())
                    .as(what + ": count")
                    .isEqualTo(rows[0]);
            assertThat(summary.get("sum")).as(what + ": sum").isEqualTo(rows[1]);
            count += ((Number) summary.get("count")).longValue();
            sum = sum.add(new BigDecimal((String) summary.get("sum")));
        }
        String what = where + ", window [" + window[0] + ", " + window[1] + ") (" + query + ")";
        assertThat(summary(WITHOUT_ROWS, query.toString(), token, where))
                .as(what + ": an organisation without rows")
                .containsEntry("count", 0)
                .containsEntry("sum", "0.00");
        Instant start = window[0];
        Instant end = window[1];
        Object[] all = DB.jdbi()
                .withHandle(h -> h.createQuery("select count(*), coalesce(sum(amount), 0) "
                                + "from transactions where created_at >= :from and created_at < :to")
                        .bind("from", start)
                        .bind("to", end)
                        .map((rs, ctx) -> new Object[] {
                            rs.getLong(1), rs.getBigDecimal(2).setScale(2).toPlainString()
                        })
                        .one());
        assertThat(count)
                .as(what + ": the organisations' counts add up to the rows")
                .isEqualTo(all[0]);
        assertThat(sum.setScale(2).toPlainString())
                .as(what + ": the organisations' sums add up to the rows")
                .isEqualTo(all[1]);
    }

    /** The test's client, calling with {@code org}'s key. */
    private Http as(long org) {
        return api.as(KEYS.get(org));
    }

    /** GET {@code query} as {@code org} (its key), after the write {@code token} names. */
    private Map<String, Object> summary(long org, String query, String token, String where) {
        Http api = as(org);
        HttpResponse<String> answer = api.send(HttpRequest.newBuilder(api.uri(query))
                .header(ConsistencyTokenFeature.HEADER, token)
                .GET());
        assertThat(answer.statusCode())
                .as(where + ", org " + org + ": " + query + " " + answer.body())
                .isEqualTo(200);
        return Http.json(answer);
    }

    /** count(*) and sum(amount) of {@code org}'s rows in [from, to) on the writer, the sum as the API writes it. */
    private static Object[] rows(long org, Instant from, Instant to) {
        return DB.jdbi()
                .withHandle(h -> h.createQuery("select count(*), coalesce(sum(amount), 0) from transactions "
                                + "where org_id = :org and created_at >= :from and created_at < :to")
                        .bind("org", org)
                        .bind("from", from)
                        .bind("to", to)
                        .map((rs, ctx) -> new Object[] {
                            rs.getLong(1), rs.getBigDecimal(2).setScale(2).toPlainString()
                        })
                        .one());
    }

    /** A transaction of {@code org}'s user, with {@code org}'s key. */
    private HttpResponse<String> post(long org, String amount, String createdAt) {
        return as(org).postJson(
                        "/transactions",
                        "{\"userId\":" + USERS.get(org) + ",\"amount\":\"" + amount + "\",\"createdAt\":\"" + createdAt
                                + "\"}");
    }

    private void rollUp() {
        Http admin = new Http("127.0.0.1", APP.getAdminPort());
        HttpResponse<String> task = admin.send(
                HttpRequest.newBuilder(admin.uri("/tasks/rollups")).POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(task.statusCode()).as(task.body()).isEqualTo(200);
        assertThat(task.body()).startsWith("rolled up ");
    }

    private static long pendingDeltas() {
        return DB.jdbi()
                .withHandle(h -> h.select("select count(*) from transaction_deltas")
                        .mapTo(Long.class)
                        .one());
    }

    private static double lag(AdminMetrics metrics) {
        return ((Number) metrics.gauge(LAG)).doubleValue();
    }

    private Map<?, ?> rollupsHealth() {
        return (Map<?, ?>) Http.json(new Http("127.0.0.1", APP.getAdminPort()).get("/healthcheck"))
                .get("rollups");
    }

    private static void eventually(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        AtomicReference<RuntimeException> last = new AtomicReference<>();
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (RuntimeException e) {
                last.set(e);
            }
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
        throw new AssertionError("not within 15 s: " + what, last.get());
    }
}
