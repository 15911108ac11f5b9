package dev.fortress.testing;

import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded mix of reads and writes against a running Fortress from 8 clients, all of one
 * organisation (calling with a key of it): GET /users/{id}, POST /users, POST /transactions and
 * GET /transactions/summary, and every 250th request a small CSV import (its upload and its job run
 * explicit transactions with COPY and savepoints). Returns how many answers had each status (200,
 * 201, 202, ..., and -1 for a client-side failure).
 */
public final class MixedLoad {

    private MixedLoad() {}

    /**
     * For the app the load runs against: its 8 clients call with one organisation's key, and may
     * all be uploading at once, which config.yml's imports.maxUploadsPerOrg (2) would answer 429.
     */
    public static final io.dropwizard.testing.ConfigOverride UPLOADS =
            io.dropwizard.testing.ConfigOverride.config("imports.maxUploadsPerOrg", "8");

    /**
     * @param api   a client that calls with a key of {@code orgId} (scopes read, write and import)
     * @param orgId the organisation every user, transaction and import belongs to
     */
    public static Map<Integer, Integer> run(Http api, long orgId, int requests) throws InterruptedException {
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        AtomicLong sent = new AtomicLong();
        AtomicLong lastUser = new AtomicLong();
        long run = ThreadLocalRandom.current().nextLong(1L << 40);
        HttpResponse<String> first = api.postJson("/users", user(run, orgId, 0));
        lastUser.set(((Number) Http.json(first).get("id")).longValue());
        ExecutorService clients = Executors.newFixedThreadPool(8);
        for (int c = 0; c < 8; c++) {
            clients.submit(() -> {
                long n;
                while ((n = sent.incrementAndGet()) <= requests) {
                    int status;
                    try {
                        HttpResponse<String> answer = n % 250 == 0
                                ? api.send(java.net.http.HttpRequest.newBuilder(api.uri("/imports"))
                                        .header("Content-Type", "text/csv")
                                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                                "email,role,org_id,age\n"
                                                        + "imp-" + run + "-" + n + "@x.io,viewer," + orgId + ",44\nimp-"
                                                        + run + "-" + n
                                                        + "@x.io,viewer," + orgId + ",44\n")))
                                : switch ((int) (n % 4)) {
                                    case 0 -> api.postJson("/users", user(run, orgId, n));
                                    case 1 ->
                                        api.postJson(
                                                "/transactions",
                                                "{\"userId\":" + lastUser.get()
                                                        + ",\"amount\":\"1.25\",\"createdAt\":\""
                                                        + java.time.Instant.now() + "\"}");
                                    case 2 ->
                                        api.get(
                                                "/transactions/summary?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z");
                                    default ->
                                        api.get("/users/"
                                                + (1
                                                        + ThreadLocalRandom.current()
                                                                .nextLong(lastUser.get())));
                                };
                        status = answer.statusCode();
                        if (status == 201 && n % 4 == 0) {
                            lastUser.accumulateAndGet(
                                    ((Number) Http.json(answer).get("id")).longValue(), Math::max);
                        }
                    } catch (RuntimeException e) {
                        status = -1;
                    }
                    statuses.computeIfAbsent(status, s -> new AtomicInteger()).incrementAndGet();
                }
            });
        }
        clients.shutdown();
        clients.awaitTermination(5, TimeUnit.MINUTES);
        Map<Integer, Integer> counts = new java.util.TreeMap<>();
        statuses.forEach((status, count) -> counts.put(status, count.get()));
        return counts;
    }

    private static String user(long run, long orgId, long n) {
        return "{\"email\":\"load-" + run + "-" + n + "@x.io\",\"role\":\"member\",\"orgId\":" + orgId + ",\"age\":"
                + (18 + n % 60) + "}";
    }
}
