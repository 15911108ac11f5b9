package dev.fortress.transactions;

import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import dev.fortress.db.TimedJdbc;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * {@link TransactionReads}: the summaries ({@code summary}, {@code summaryAligned}: GET
 * /transactions/summary) on plain JDBC; every other method is the SQL object's. Measured reason:
 * as a SQL-object call (on-demand attach, sixteen nested-bean bindings) the summary spent 38% of
 * the route's CPU samples in JDBI around 16% in the driver (bench/results/2026-12-01-issue15.md).
 * The two statements are built from the same pieces, TransactionReads/rows.sql and rollups.sql
 * (summary: both; summaryAligned: rollups.sql alone), run by {@link TimedJdbc} under the names
 * TransactionDao.summary and TransactionDao.summaryAligned, which the timers have always had.
 */
final class JdbcTransactionReadDao implements TransactionReads {

    /**
     * A summary statement: its SQL with {@code ?} for each {@code :p.<piece>.<edge>} and each
     * {@code :orgId}, and what each binds (an instant of the pieces, or {@link #ORG}).
     */
    private record Statement(String name, String sql, List<Function<SummaryPieces, java.time.Instant>> parameters) {

        /** {@code select <count and sum> from (<pieces, union all>) pieces}, the pieces from TransactionReads/. */
        static Statement of(String name, String... pieces) {
            List<String> parts = new ArrayList<>();
            for (String piece : pieces) {
                parts.add(text(piece));
            }
            String sql =
                    "select cast(coalesce(sum(count), 0) as bigint) as count, coalesce(sum(sum), 0) as sum from (\n"
                            + String.join("union all\n", parts) + ") pieces";
            List<Function<SummaryPieces, java.time.Instant>> parameters = new ArrayList<>();
            Matcher m = Pattern.compile(":orgId\\b|:p\\.(\\w+)\\.(from|to)").matcher(sql);
            StringBuilder jdbc = new StringBuilder();
            while (m.find()) {
                if (m.group(1) == null) {
                    parameters.add(ORG);
                } else {
                    Function<SummaryPieces, SummaryPieces.Range> piece = piece(m.group(1));
                    boolean from = m.group(2).equals("from");
                    parameters.add(
                            p -> from ? piece.apply(p).from() : piece.apply(p).to());
                }
                m.appendReplacement(jdbc, "?");
            }
            m.appendTail(jdbc);
            return new Statement("TransactionDao." + name, jdbc.toString(), List.copyOf(parameters));
        }

        /** A piece's SQL without its comments (they may hold a colon; placeholders are only in the SQL). */
        private static String text(String piece) {
            String file = "TransactionReads/" + piece + ".sql";
            try (InputStream in = TransactionReads.class.getResourceAsStream(file)) {
                if (in == null) {
                    throw new IllegalStateException(file + " is not on the classpath");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8)
                        .lines()
                        .filter(l -> !l.stripLeading().startsWith("--"))
                        .map(l -> l + "\n")
                        .reduce("", String::concat);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static Function<SummaryPieces, SummaryPieces.Range> piece(String name) {
            return switch (name) {
                case "head" -> SummaryPieces::head;
                case "tail" -> SummaryPieces::tail;
                case "minutesHead" -> SummaryPieces::minutesHead;
                case "minutesTail" -> SummaryPieces::minutesTail;
                case "hoursHead" -> SummaryPieces::hoursHead;
                case "hoursTail" -> SummaryPieces::hoursTail;
                case "daysHead" -> SummaryPieces::daysHead;
                case "daysTail" -> SummaryPieces::daysTail;
                case "months" -> SummaryPieces::months;
                case "deltas" -> SummaryPieces::deltas;
                default -> throw new IllegalStateException("summary SQL names no piece " + name);
            };
        }
    }

    /** Where a statement binds the caller's organisation rather than an instant. */
    private static final Function<SummaryPieces, java.time.Instant> ORG = pieces -> null;

    private static final Statement SUMMARY = Statement.of("summary", "rows", "rollups");
    private static final Statement SUMMARY_ALIGNED = Statement.of("summaryAligned", "rollups");
    private static final SummaryMapper MAPPER = new SummaryMapper();

    private final DataSource pool;
    private final StatementMetrics metrics;
    private final TransactionDao sqlObject;

    JdbcTransactionReadDao(Databases.Source source) {
        this.pool = source.pool();
        this.metrics = source.metrics();
        this.sqlObject = source.jdbi().onDemand(TransactionDao.class);
    }

    @Override
    public Summary summary(long orgId, SummaryPieces pieces) {
        return run(SUMMARY, orgId, pieces);
    }

    @Override
    public Summary summaryAligned(long orgId, SummaryPieces pieces) {
        return run(SUMMARY_ALIGNED, orgId, pieces);
    }

    private Summary run(Statement statement, long orgId, SummaryPieces pieces) {
        return TimedJdbc.query(
                pool,
                metrics,
                statement.name(),
                statement.sql(),
                st -> {
                    for (int i = 0; i < statement.parameters().size(); i++) {
                        Function<SummaryPieces, java.time.Instant> parameter =
                                statement.parameters().get(i);
                        if (parameter == ORG) {
                            st.setLong(i + 1, orgId);
                        } else {
                            st.setTimestamp(i + 1, Timestamp.from(parameter.apply(pieces)));
                        }
                    }
                },
                rows -> {
                    rows.next();
                    return MAPPER.map(rows, null);
                });
    }

    @Override
    public Optional<Transaction> insert(long orgId, long userId, BigDecimal amount, Timestamp createdAt) {
        return sqlObject.insert(orgId, userId, amount, createdAt);
    }

    @Override
    public boolean userExists(long userId) {
        return sqlObject.userExists(userId);
    }

    @Override
    public List<Transaction> list(long orgId, Timestamp from, Timestamp to, int limit) {
        return sqlObject.list(orgId, from, to, limit);
    }

    @Override
    public List<Transaction> listForUser(long orgId, long userId, Timestamp from, Timestamp to, int limit) {
        return sqlObject.listForUser(orgId, userId, from, to, limit);
    }
}
