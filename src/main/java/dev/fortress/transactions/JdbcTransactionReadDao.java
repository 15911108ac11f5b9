package dev.fortress.transactions;

import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import dev.fortress.db.TimedJdbc;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.statement.ColonPrefixSqlParser;
import org.jdbi.v3.core.statement.ParsedSql;

/**
 * {@link TransactionReadDao} with the summaries ({@code summary}, {@code summaryAligned}: GET
 * /transactions/summary) on plain JDBC; every other method is the SQL object's. Measured reason:
 * as a SQL-object call (on-demand attach, sixteen nested-bean bindings) the summary spent 38% of
 * the route's CPU samples in JDBI around 16% in the driver (bench/results/2026-12-01-issue15.md).
 * The texts are the SQL object's ({@link TransactionReadDao#SUMMARY}, {@link
 * TransactionReadDao#SUMMARY_ALIGNED}), turned into JDBC's {@code ?} by JDBI's own parser once, and
 * timed by {@link TimedJdbc} under the SQL object's names.
 */
final class JdbcTransactionReadDao implements TransactionReadDao {

    /**
     * A summary statement: its text with {@code ?} for each named parameter, and for each the piece
     * of {@link SummaryPieces} it binds ({@code :p.<piece>.<from|to>}), or none for {@code :orgId}.
     */
    private record Statement(String name, String sql, List<Parameter> parameters) {

        static Statement of(String name, String text) {
            ParsedSql parsed = new ColonPrefixSqlParser().parse(text, null);
            List<Parameter> parameters = new ArrayList<>();
            for (String parameter : parsed.getParameters().getParameterNames()) {
                parameters.add(Parameter.named(parameter));
            }
            return new Statement(
                    TransactionReadDao.class.getSimpleName() + "." + name, parsed.getSql(), List.copyOf(parameters));
        }
    }

    /** {@code :orgId} (piece null), or {@code :p.<piece>.<from|to>}: the accessor of that record component. */
    private record Parameter(Method piece, boolean from) {

        static Parameter named(String name) {
            if (name.equals("orgId")) {
                return new Parameter(null, false);
            }
            String[] path = name.split("\\.");
            if (path.length != 3 || !path[0].equals("p") || !(path[2].equals("from") || path[2].equals("to"))) {
                throw new IllegalStateException(
                        "a summary statement binds :orgId and :p.<piece>.<from|to>, not :" + name);
            }
            try {
                return new Parameter(SummaryPieces.class.getMethod(path[1]), path[2].equals("from"));
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException("summary SQL names no piece " + path[1], e);
            }
        }

        Instant of(SummaryPieces pieces) {
            try {
                SummaryPieces.Range range = (SummaryPieces.Range) piece.invoke(pieces);
                return from ? range.from() : range.to();
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static final Statement SUMMARY = Statement.of("summary", TransactionReadDao.SUMMARY);
    private static final Statement SUMMARY_ALIGNED = Statement.of("summaryAligned", TransactionReadDao.SUMMARY_ALIGNED);
    private static final SummaryMapper MAPPER = new SummaryMapper();

    private final DataSource pool;
    private final StatementMetrics metrics;
    private final TransactionReadDao sqlObject;

    JdbcTransactionReadDao(Databases.Source source) {
        this.pool = source.pool();
        this.metrics = source.metrics();
        this.sqlObject = source.jdbi().onDemand(TransactionReadDao.class);
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
                    List<Parameter> parameters = statement.parameters();
                    for (int i = 0; i < parameters.size(); i++) {
                        Parameter parameter = parameters.get(i);
                        if (parameter.piece() == null) {
                            st.setLong(i + 1, orgId);
                        } else {
                            st.setTimestamp(i + 1, Timestamp.from(parameter.of(pieces)));
                        }
                    }
                },
                rows -> {
                    rows.next();
                    return MAPPER.map(rows, null);
                });
    }

    @Override
    public List<Transaction> list(long orgId, Timestamp from, Timestamp to, int limit) {
        return sqlObject.list(orgId, from, to, limit);
    }

    @Override
    public List<Transaction> listForUser(long orgId, long userId, Timestamp from, Timestamp to, int limit) {
        return sqlObject.listForUser(orgId, userId, from, to, limit);
    }

    /**
     * None: the summaries run on connections borrowed for one statement each, and the lists on the SQL
     * object's own handle for each call (SqlObject asks for this; nothing here uses it).
     */
    @Override
    public Handle getHandle() {
        throw new UnsupportedOperationException("JdbcTransactionReadDao holds no handle; use withHandle");
    }

    /** A handle of the SQL object's, for {@code callback} alone. */
    @Override
    public <R, X extends Exception> R withHandle(HandleCallback<R, X> callback) throws X {
        return sqlObject.withHandle(callback);
    }
}
