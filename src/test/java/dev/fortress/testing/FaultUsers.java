package dev.fortress.testing;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jdbi.v3.core.Jdbi;

/**
 * POST /users as a fault scenario's write, each with an email of its own, and the accounting
 * afterwards against the database: which answered writes are missing (lost), which emails are
 * there twice (duplicated), and which writes that answered an error are there anyway.
 */
public final class FaultUsers {

    /** What the database holds for the writes a load sent. */
    public record Rows(long lost, long duplicated, List<FaultLoad.Call> committedDespiteError, long absentAfterError) {

        /** No write lost, none twice, none committed behind an error its client saw. */
        public void assertIntact() {
            org.assertj.core.api.Assertions.assertThat(lost).as("rows lost").isZero();
            org.assertj.core.api.Assertions.assertThat(duplicated)
                    .as("rows duplicated")
                    .isZero();
            org.assertj.core.api.Assertions.assertThat(committedDespiteError)
                    .as("committed despite an error")
                    .isEmpty();
        }
    }

    public static final String ROUTE = "POST /users";

    private final String prefix =
            "fault-" + Long.toHexString(ThreadLocalRandom.current().nextLong()) + "-";
    private final Http api;
    private final long orgId;

    /** @param orgId the org every user joins (a test's own, so no other test's cache is touched) */
    public FaultUsers(Http api, long orgId) {
        this.api = api;
        this.orgId = orgId;
    }

    /** An org id of the test's own, far from any other test's. */
    public static long freshOrg() {
        return ThreadLocalRandom.current().nextLong(1L << 40, 1L << 50);
    }

    /** Creates {@code count} users before the load (outside its accounting), for it to read by id. */
    public List<Long> existing(int count) {
        List<Long> ids = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add(((Number) Http.json(create(i).send().get()).get("id")).longValue());
        }
        return ids;
    }

    /** Request {@code n} of a load as a read of one of {@code ids}. */
    /**
     * The load most fault scenarios run: every {@code everyNthReads}-th request reads one of ten
     * users that exist in this org, the others create one.
     */
    public java.util.function.LongFunction<FaultLoad.Request> createsAndReads(int everyNthReads) {
        // Under another prefix: verify() counts this instance's emails as the writes the load sent.
        List<Long> existing = new FaultUsers(api, orgId).existing(10);
        return n -> n % everyNthReads == 0 ? readOne(api, existing, n) : create(n);
    }

    public static FaultLoad.Request readOne(Http api, List<Long> ids, long n) {
        return new FaultLoad.Request(
                "GET /users/{id}", null, () -> api.get("/users/" + ids.get((int) (n % ids.size()))));
    }

    public FaultLoad.Request create(long n) {
        String email = prefix + n + "@x.io";
        String json = "{\"email\":\"" + email + "\",\"role\":\"member\",\"orgId\":" + orgId + ",\"age\":"
                + (18 + n % 60) + "}";
        return new FaultLoad.Request(ROUTE, email, () -> api.postJson("/users", json));
    }

    /** Compares the POST /users calls with the rows in {@code users}. */
    public Rows verify(Jdbi db, List<FaultLoad.Call> calls) {
        Map<String, Integer> stored = new HashMap<>();
        db.useHandle(h -> h.createQuery("select email, count(*) from users where email like :prefix group by email")
                .bind("prefix", prefix + "%")
                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getInt(2)))
                .forEach(e -> stored.put(e.getKey(), e.getValue())));
        long lost = 0;
        long absentAfterError = 0;
        List<FaultLoad.Call> committedDespiteError = new java.util.ArrayList<>();
        Set<String> sent = new HashSet<>();
        for (FaultLoad.Call call : calls) {
            if (!ROUTE.equals(call.route())) {
                continue;
            }
            sent.add(call.key());
            boolean present = stored.containsKey(call.key());
            if (call.status() == 201 && !present) {
                lost++;
            } else if (call.status() != 201 && present) {
                committedDespiteError.add(call);
            } else if (call.status() != 201) {
                absentAfterError++;
            }
        }
        long duplicated = stored.values().stream().mapToLong(count -> count - 1).sum();
        Set<String> unsent = new HashSet<>(stored.keySet());
        unsent.removeAll(sent);
        if (!unsent.isEmpty()) {
            throw new AssertionError("rows for emails no request sent: " + unsent);
        }
        return new Rows(lost, duplicated, committedDespiteError, absentAfterError);
    }
}
