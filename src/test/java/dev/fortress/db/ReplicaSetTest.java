package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.Serial;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import dev.fortress.testing.TestReplica;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Reads over the two real streaming replicas bin/services runs (5433, 5434), named in one
 * multi-host URL: they share the reads, a replica whose replay is paused stops getting them once
 * past the lag bound and gets them again after it catches up, and a read with a consistency token
 * never sees stale data, whichever replica is behind.
 */
// Serial: pauses replay on the second shared replica (5434); counts reads by server with a 1 MiB lag bound.
@Serial
@ExtendWith(DropwizardExtensionsSupport.class)
class ReplicaSetTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TestReplica FIRST = TestReplica.of(DB);
    private static final TestReplica SECOND = TestReplica.second(DB);
    /** Made before the app starts, so both the writer and the replicas have it when it is first looked up. */
    private static final String KEY = TestKeys.of(DB, 4);

    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            DB.url(),
            "jdbc:postgresql://" + FIRST.name() + "," + SECOND.name() + "/" + DB.name(),
            ConfigOverride.config("replica.maxLag", "1MiB"),
            ConfigOverride.config("replica.maxLagTime", "2s"));
    private static final List<Long> IDS = new ArrayList<>();

    @BeforeAll
    static void users() {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
        for (int i = 0; i < 20; i++) {
            IDS.add(((Number) Http.json(create(api, "set-" + i + "-" + System.nanoTime() + "@x.io"))
                            .get("id"))
                    .longValue());
        }
        await(() -> inUse(FIRST) == 1 && inUse(SECOND) == 1, Duration.ofSeconds(20), "both replicas in use");
    }

    @AfterEach
    void resumeReplay() {
        SECOND.execute("select pg_wal_replay_resume()");
    }

    private static Http api() {
        return new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
    }

    private static AdminMetrics metrics() {
        return new AdminMetrics(APP.getAdminPort());
    }

    private static HttpResponse<String> create(Http api, String email) {
        return api.postJson("/users", "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":4,\"age\":33}");
    }

    private static long reads(TestReplica replica) {
        return metrics().meter("dev.fortress.db.replica." + replica.name() + ".reads");
    }

    /**
     * The reads of users a replica served: its reads less the look-ups of API keys among them (a
     * key is looked up again once auth.cacheFor has passed, on a replica as any read).
     */
    private static long userReads(TestReplica replica) {
        String pool = replica == FIRST ? "reader-1" : "reader-2"; // the order of the URL's hosts
        return reads(replica) - metrics().timerCount("dev.fortress.db." + pool + ".ApiKeyReadDao.find");
    }

    private static int inUse(TestReplica replica) {
        return metrics().intGauge("dev.fortress.db.replica." + replica.name() + ".in-use");
    }

    /** Committed transactions on the replica in this test's database, as the replica itself counts them. */
    private static long transactionsOn(TestReplica replica) {
        try (Connection c = replica.connect();
                Statement st = c.createStatement()) {
            st.execute("select pg_stat_clear_snapshot()");
            try (ResultSet rs = st.executeQuery(
                    "select xact_commit + xact_rollback from pg_stat_database where datname = current_database()")) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int readAll(int count) {
        Http api = api();
        int non2xx = 0;
        for (int i = 0; i < count; i++) {
            if (api.get("/users/" + IDS.get(i % IDS.size())).statusCode() != 200) {
                non2xx++;
            }
        }
        return non2xx;
    }

    @Test
    void readsAreSpreadOverBothReplicas() {
        long first = userReads(FIRST);
        long second = userReads(SECOND);
        long firstTx = transactionsOn(FIRST);
        long secondTx = transactionsOn(SECOND);
        long onWriter = metrics().meter("dev.fortress.db.reads-on-writer");

        assertThat(readAll(400)).isZero();

        long toFirst = userReads(FIRST) - first;
        long toSecond = userReads(SECOND) - second;
        assertThat(toFirst + toSecond).as("every read on a replica").isEqualTo(400);
        assertThat(metrics().meter("dev.fortress.db.reads-on-writer")).isEqualTo(onWriter);
        assertThat(toFirst).as("a fair share each (round robin)").isBetween(150L, 250L);
        assertThat(toSecond).isBetween(150L, 250L);
        // And each PostgreSQL saw its share (its statistics arrive within a second or so).
        await(
                () -> transactionsOn(FIRST) - firstTx >= 150 && transactionsOn(SECOND) - secondTx >= 150,
                Duration.ofSeconds(10),
                "each replica counts its share in pg_stat_database");
    }

    @Test
    void aLaggingReplicaStopsGettingReadsAndGetsThemAgainAfterCatchingUp() throws Exception {
        Http api = api();
        SECOND.execute("select pg_wal_replay_pause()");
        AtomicBoolean writing = new AtomicBoolean(true);
        Thread writer = new Thread(() -> {
            int n = 0;
            while (writing.get()) {
                create(api, "lag-" + n++ + "-" + System.nanoTime() + "@x.io");
            }
        });
        writer.start();
        try {
            await(() -> inUse(SECOND) == 0, Duration.ofSeconds(30), "the paused replica is out once past the bound");
            assertThat(inUse(FIRST)).isEqualTo(1);
            long second = reads(SECOND);
            long first = reads(FIRST);

            assertThat(readAll(200)).isZero();

            assertThat(reads(SECOND)).as("no read on the lagging replica").isEqualTo(second);
            assertThat(reads(FIRST) - first).as("the other one serves them").isPositive();
            assertThat(new Http("127.0.0.1", APP.getAdminPort())
                            .get("/healthcheck")
                            .body())
                    .contains("reads avoid reader-2");
        } finally {
            writing.set(false);
            writer.join();
            SECOND.execute("select pg_wal_replay_resume()");
        }
        await(() -> inUse(SECOND) == 1, Duration.ofSeconds(30), "back in use once caught up");
        long second = reads(SECOND);
        assertThat(readAll(100)).isZero();
        assertThat(reads(SECOND) - second).as("and gets reads again").isPositive();
    }

    @Test
    void aReadWithATokenNeverSeesStaleDataWhicheverReplicaIsBehind() {
        Http api = api();
        SECOND.execute("select pg_wal_replay_pause()");
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> created = create(api, "token-" + i + "-" + System.nanoTime() + "@x.io");
            String token =
                    created.headers().firstValue(ConsistencyTokenFeature.HEADER).orElseThrow();
            long id = ((Number) Http.json(created).get("id")).longValue();
            for (int r = 0; r < 4; r++) {
                HttpResponse<String> read = api.send(HttpRequest.newBuilder(api.uri("/users/" + id))
                        .header(ConsistencyTokenFeature.HEADER, token)
                        .GET());
                assertThat(read.statusCode())
                        .as("read %d of write %d with its token", r, i)
                        .isEqualTo(200);
            }
            // Without the token, the paused replica would answer 404 for it: the token is what protects.
        }
    }

    private static void await(BooleanSupplier condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
    }
}
