package dev.fortress.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Await;
import dev.fortress.testing.Http;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 25: {@code bin/cluster rebuild HOST}, the remedy for a standby that cannot follow the primary
 * (pg_auto_failover 2.0 can leave an old primary in join_secondary after a switchover; `bin/cluster
 * switchover` rebuilds it itself, docs/runbooks.md#rejoining-a-node). A standby is dropped from the
 * monitor and cloned afresh: it comes back a streaming standby holding what was written before,
 * receives what is written after, and api1 reads from it again. The primary is refused.
 */
@ExtendWith(Fleet.class)
class FleetRebuildIT {

    @Test
    void aRebuiltStandbyHoldsEveryRowAndServesReadsAgain() {
        Http lb = Fleet.lb();
        String run = "rebuild-" + UUID.randomUUID().toString().substring(0, 8);
        String primary = Fleet.primary();
        String standby = Fleet.standbys(primary).get(0);

        Fleet.Result refused = Fleet.cluster(Duration.ofMinutes(1), "rebuild", primary);
        assertThat(refused.exitCode())
                .as("bin/cluster rebuild of the primary " + primary + ": " + refused.output())
                .isNotZero();
        assertThat(refused.output()).contains(primary + " is the primary");

        long before = FleetLoad.newUser(lb, run + "-before");
        Fleet.clusterOk(Duration.ofMinutes(5), "rebuild", standby);
        long after = FleetLoad.newUser(lb, run + "-after");

        Jdbi direct = Fleet.db(standby);
        boolean inRecovery = direct.withHandle(
                h -> h.select("select pg_is_in_recovery()").mapTo(Boolean.class).one());
        assertThat(inRecovery).as(standby + " in recovery").isTrue();
        assertThat(email(direct, before))
                .as("the user written before the rebuild, on " + standby)
                .contains(run + "-before@fleet.test");
        Optional<String> streamed = Await.await(
                "the user written after the rebuild on " + standby,
                Duration.ofMinutes(1),
                () -> email(direct, after),
                Optional::isPresent);
        assertThat(streamed).contains(run + "-after@fleet.test");

        String replica = Fleet.awaitStandbyServingReads(standby);
        assertThat(Fleet.metric("api1", "fortress_db_replica_primary{replica=\"" + replica + "\",}"))
                .as(standby + " is no primary for api1")
                .isZero();
        Fleet.summary(
                "standby rebuilt",
                String.format(
                        "`bin/cluster rebuild %s` (primary %s; refused for the primary): "
                                + "a streaming standby again with the user written before it and the one written after, and api1 reads "
                                + "from it",
                        standby, primary));
    }

    private static Optional<String> email(Jdbi db, long id) {
        return db.withHandle(h -> h.select("select email from users where id = ?", id)
                .mapTo(String.class)
                .findOne());
    }
}
