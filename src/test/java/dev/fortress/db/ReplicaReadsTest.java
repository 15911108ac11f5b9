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
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Reads against a real streaming replica whose replay the test pauses: without a token a read
 * sees the replica's (old) state, with the write's token it sees the write, and once the replica
 * lags past the bound reads move to the writer until it has caught up.
 */
// Serial: pauses replay on the first shared replica (5433); counts reads by server with a 1 MiB lag bound.
@Serial
@ExtendWith(DropwizardExtensionsSupport.class)
class ReplicaReadsTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TestReplica REPLICA = TestReplica.of(DB);
    /** Made before the app starts, so both the writer and the replicas have it when it is first looked up. */
    private static final String KEY = TestKeys.of(DB, 3);

    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            DB.url(),
            REPLICA.url(),
            ConfigOverride.config("replica.maxLag", "1MiB"),
            ConfigOverride.config("replica.maxLagTime", "3s"));

    @AfterEach
    void resumeReplay() {
        REPLICA.execute("select pg_wal_replay_resume()");
    }

    private AdminMetrics metrics() {
        return new AdminMetrics(APP.getAdminPort());
    }

    private Http api() {
        return new Http("127.0.0.1", APP.getLocalPort()).as(KEY);
    }

    private HttpResponse<String> create(String email) {
        return api().postJson("/users", "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":3,\"age\":33}");
    }

    private HttpResponse<String> read(long id, String token) {
        HttpRequest.Builder request =
                HttpRequest.newBuilder(api().uri("/users/" + id)).GET();
        if (token != null) {
            request.header(ConsistencyTokenFeature.HEADER, token);
        }
        return api().send(request);
    }

    @Test
    void aReadWithTheWritesTokenSeesItWhileTheReplicaHasNotReplayedIt() {
        awaitReplicaInUse();
        // The replica's lag in seconds counts from its last replayed commit, which may be older than
        // maxLagTime (3 s) on a quiet cluster: the reads below would then race the next replica check
        // (every second) to the writer. With a commit just replayed, they have the whole 3 s.
        long fresh = ((Number) Http.json(create("fresh-" + System.nanoTime() + "@x.io"))
                        .get("id"))
                .longValue();
        await(() -> onReplica(fresh), "the replica replays a fresh commit");
        REPLICA.execute("select pg_wal_replay_pause()");

        HttpResponse<String> created = create("paused@x.io");
        long id = ((Number) Http.json(created).get("id")).longValue();
        String token =
                created.headers().firstValue(ConsistencyTokenFeature.HEADER).orElseThrow();

        assertThat(read(id, null).statusCode())
                .as("the replica has not replayed the insert")
                .isEqualTo(404);
        assertThat(read(id, token).statusCode())
                .as("the token sends the read to the writer")
                .isEqualTo(200);

        REPLICA.execute("select pg_wal_replay_resume()");
        await(() -> read(id, null).statusCode() == 200, "the replica replays the insert");
        await(
                () -> read(id, token).statusCode() == 200 && onWriterDelta(() -> read(id, token)) == 0,
                "with the token replayed, the replica serves the read");
    }

    @Test
    void readsMoveToTheWriterWhileTheReplicaLagsPastTheBoundAndReturnAfter() {
        awaitReplicaInUse();
        REPLICA.execute("select pg_wal_replay_pause()");
        long id = ((Number) Http.json(create("lagging@x.io")).get("id")).longValue();
        // Writes keep coming while replay is paused: the replica falls behind in bytes and seconds.
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        int n = 0;
        while (metrics().intGauge("dev.fortress.db.replica." + REPLICA.name() + ".in-use") == 1
                && System.nanoTime() < deadline) {
            create("lag" + n++ + "@x.io");
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
        assertThat(metrics().intGauge("dev.fortress.db.replica." + REPLICA.name() + ".in-use"))
                .as("fell back to the writer")
                .isZero();
        assertThat(read(id, null).statusCode())
                .as("served by the writer, which has it")
                .isEqualTo(200);
        assertThat(new Http("127.0.0.1", APP.getAdminPort()).get("/healthcheck").body())
                .contains(
                        "degraded: reads avoid reader (other replicas, else the writer, serve them) because it is behind");

        REPLICA.execute("select pg_wal_replay_resume()");
        awaitReplicaInUse();
        assertThat(onWriterDelta(() -> read(id, null)))
                .as("back on the replica")
                .isZero();
    }

    @Test
    void aTokenAheadOfTheWriterIsRefusedWhileOnesTheWriterReachedAreServed() {
        HttpResponse<String> created = create("ahead-" + System.nanoTime() + "@x.io");
        long id = ((Number) Http.json(created).get("id")).longValue();
        String token =
                created.headers().firstValue(ConsistencyTokenFeature.HEADER).orElseThrow();
        long refused = metrics().meter("dev.fortress.db.consistency-tokens.refused");

        for (String beyond : new String[] {"FFFFFFFF/FFFFFFFF", "7FFFFFFF/0", "1000/0"}) {
            HttpResponse<String> ahead = read(id, beyond);

            assertThat(ahead.statusCode()).as(beyond + ": " + ahead.body()).isEqualTo(400);
            assertThat(Http.json(ahead)).containsEntry("code", 400);
            assertThat(Http.json(ahead).get("message").toString())
                    .startsWith("X-Consistency-Token " + beyond + " is ahead of the writer");
        }
        assertThat(metrics().meter("dev.fortress.db.consistency-tokens.refused"))
                .isEqualTo(refused + 3);
        // A position this instance never issued nor sampled (another instance's write, made just now)
        // is one the writer has reached: asked, the writer says so, and the read is served.
        String elsewhere = DB.jdbi().withHandle(h -> {
            h.execute(
                    "insert into users (email, role, org_id, age) values (?, 'member', 3, 40)",
                    "elsewhere-" + System.nanoTime() + "@x.io");
            return h.createQuery("select cast(pg_current_wal_lsn() as text)")
                    .mapTo(String.class)
                    .one();
        });
        assertThat(read(id, elsewhere).statusCode()).isEqualTo(200);
        assertThat(read(id, token).statusCode())
                .as("read-your-write with the write's own token")
                .isEqualTo(200);
        assertThat(metrics().meter("dev.fortress.db.consistency-tokens.refused"))
                .isEqualTo(refused + 3);
    }

    private static boolean onReplica(long userId) {
        try (java.sql.Connection c = REPLICA.connect();
                java.sql.PreparedStatement st = c.prepareStatement("select 1 from users where id = ?")) {
            st.setLong(1, userId);
            return st.executeQuery().next();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private long onWriterDelta(Runnable read) {
        long before = metrics().meter("dev.fortress.db.reads-on-writer");
        read.run();
        return metrics().meter("dev.fortress.db.reads-on-writer") - before;
    }

    private void awaitReplicaInUse() {
        await(
                () -> metrics().intGauge("dev.fortress.db.replica." + REPLICA.name() + ".in-use") == 1,
                "reads are on the replica");
    }

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
    }
}
