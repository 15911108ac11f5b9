package dev.fortress.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Await;
import dev.fortress.testing.Http;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * `bin/cluster start HOST` straight after `bin/cluster kill HOST`, as an operator trying a power cut
 * would type them. Until 2026-12-07 the start failed ("PgBouncer does not answer") or left the host
 * without its keeper: the killed processes were not yet reaped, and PgBouncer's and pg_autoctl's pid
 * files named them (bin/cluster.d/network.sh, host_kill). A standby's host comes back serving: its
 * PgBouncer and PostgreSQL ready, a row written after the start streamed to it, api1 reading from it.
 */
@ExtendWith(Fleet.class)
class FleetHostRestartIT {

    @Test
    void aStandbyHostStartedRightAfterItsKillServesAgain() {
        Http lb = Fleet.lb();
        String run = "restart-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> standbys = Fleet.standbys(Fleet.primary());
        String standby = standbys.get(standbys.size() - 1);

        Fleet.clusterOk(Duration.ofMinutes(2), "kill", standby);
        Fleet.clusterOk(Duration.ofMinutes(6), "start", standby);

        String status = Fleet.clusterOk(Duration.ofSeconds(60), "status");
        assertThat(status.lines().filter(l -> l.startsWith(standby + " ") && l.contains(":6432")))
                .as(standby + "'s PgBouncer in `bin/cluster status` right after the start:\n" + status)
                .singleElement()
                .satisfies(line -> assertThat(line).endsWith("ready"));
        long after = FleetLoad.newUser(lb, run);
        String replica = Fleet.awaitStandbyServingReads(standby);
        Optional<String> streamed = Await.await(
                "the user written after the start on " + standby,
                Duration.ofMinutes(1),
                () -> Fleet.db(standby)
                        .withHandle(h -> h.select("select email from users where id = ?", after)
                                .mapTo(String.class)
                                .findOne()),
                Optional::isPresent);
        assertThat(streamed).contains(run + "@fleet.test");
        Fleet.summary(
                "kill then start at once",
                String.format(
                        "`bin/cluster kill %s` then at once `start %s`: its PgBouncer ready, a row written after it "
                                + "streamed to it, api1 reads from %s",
                        standby, standby, replica));
    }
}
