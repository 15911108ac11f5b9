package dev.fortress.transactions;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.Meter;
import dev.fortress.testing.ReadDaoImplementations;
import dev.fortress.testing.ReadDaoImplementations.Implementation;
import dev.fortress.testing.TestDatabase;
import dev.fortress.users.NewUser;
import dev.fortress.users.UserWriteDao;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.tomcat.jdbc.pool.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link TransactionReadDao}'s contract, held by the SQL object (JDBI binds the summary's pieces
 * itself) and {@link JdbcTransactionReadDao} alike: the same summaries, rows rolled up and deltas
 * pending, windows on whole minutes or not; the same lists; the same statement names.
 */
class TransactionReadDaoContractTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DataSource POOL = DB.pool(DB.url(), 2);
    private static final Instant NOW = Instant.parse("2026-11-15T12:00:00Z");
    private static final long ORG = 51;
    private static final long OTHER_ORG = 52;
    /** ORG's transactions, oldest first: amounts 1, 2, 4, 8, 16, so each subset has a sum of its own. */
    private static final List<Transaction> ROWS = new ArrayList<>();

    private static long user;

    @BeforeAll
    static void transactions() {
        Jdbi jdbi = DB.jdbi();
        new Partitions(jdbi, new TransactionsConfiguration(24, 3, true), () -> NOW).maintain();
        UserWriteDao users = jdbi.onDemand(UserWriteDao.class);
        user = users.create(new NewUser("payer@contract.io", "admin", ORG, 40)).id();
        long other = users.create(new NewUser("other@contract.io", "admin", OTHER_ORG, 40))
                .id();
        TransactionWriteDao writes = jdbi.onDemand(TransactionWriteDao.class);
        insert(writes, ORG, user, "1.00", "2026-11-10T10:00:30Z"); // in a partial minute at the head
        insert(writes, ORG, user, "2.00", "2026-11-10T10:05:00Z");
        insert(writes, ORG, user, "4.00", "2026-11-10T13:00:00Z");
        insert(writes, OTHER_ORG, other, "100.00", "2026-11-10T12:00:00Z");
        new Rollups(jdbi, Rollups.BATCH, new Meter(), new Meter(), null).run(); // these three in the rollups
        insert(writes, ORG, user, "8.00", "2026-11-11T09:00:00Z"); // these two still deltas
        insert(writes, ORG, user, "16.00", "2026-11-11T09:59:45Z"); // in a partial minute at the tail
    }

    private static void insert(TransactionWriteDao writes, long org, long userId, String amount, String at) {
        Transaction row = writes.insert(org, userId, new BigDecimal(amount), Timestamp.from(Instant.parse(at)))
                .orElseThrow();
        if (org == ORG) {
            ROWS.add(row);
        }
    }

    @AfterAll
    static void close() {
        POOL.close();
    }

    static Stream<Implementation<TransactionReadDao>> implementations() {
        return ReadDaoImplementations.both(POOL, TransactionReadDao.class, JdbcTransactionReadDao::new);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void summariesAddUpRawRowsRollupsAndDeltasExactly(Implementation<TransactionReadDao> reads) {
        TransactionReadDao dao = reads.dao();
        assertThat(dao.summary(ORG, window("2026-11-10T10:00:15Z", "2026-11-11T09:59:50Z")))
                .as("every row, the ends in partial minutes")
                .isEqualTo(summary(5, "31.00"));
        assertThat(dao.summary(ORG, window("2026-11-10T10:00:45Z", "2026-11-11T09:59:30Z")))
                .as("the rows in the partial minutes left out")
                .isEqualTo(summary(3, "14.00"));
        SummaryPieces days = window("2026-11-10T00:00:00Z", "2026-11-12T00:00:00Z");
        assertThat(dao.summary(ORG, days)).isEqualTo(summary(5, "31.00"));
        assertThat(dao.summaryAligned(ORG, days)).as("whole minutes").isEqualTo(summary(5, "31.00"));
        assertThat(dao.summaryAligned(OTHER_ORG, days))
                .as("another organisation")
                .isEqualTo(summary(1, "100.00"));
        assertThat(dao.summary(53, days)).as("an organisation without rows").isEqualTo(summary(0, "0"));
        assertThat(reads.timed("TransactionReadDao.summary")).isEqualTo(4);
        assertThat(reads.timed("TransactionReadDao.summaryAligned")).isEqualTo(2);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void listsAreNewestFirstWithinTheWindowAndTheLimit(Implementation<TransactionReadDao> reads) {
        Timestamp from = at("2026-11-10T10:01:00Z");
        Timestamp to = at("2026-11-11T09:30:00Z");
        List<Transaction> expected = List.of(ROWS.get(3), ROWS.get(2), ROWS.get(1));
        assertThat(reads.dao().list(ORG, from, to, 10)).isEqualTo(expected);
        assertThat(reads.dao().list(ORG, from, to, 2)).isEqualTo(expected.subList(0, 2));
        assertThat(reads.dao().listForUser(ORG, user, from, to, 10)).isEqualTo(expected);
        assertThat(reads.dao().listForUser(OTHER_ORG, user, from, to, 10))
                .as("the user is another organisation's")
                .isEmpty();
        assertThat(reads.timed("TransactionReadDao.list")).isEqualTo(2);
        assertThat(reads.timed("TransactionReadDao.listForUser")).isEqualTo(2);
    }

    private static SummaryPieces window(String from, String to) {
        return SummaryPieces.of(Instant.parse(from), Instant.parse(to));
    }

    private static TransactionReadDao.Summary summary(long count, String sum) {
        return new TransactionReadDao.Summary(count, new BigDecimal(sum));
    }

    private static Timestamp at(String instant) {
        return Timestamp.from(Instant.parse(instant));
    }
}
