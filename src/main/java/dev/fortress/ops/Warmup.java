package dev.fortress.ops;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.health.HealthCheck;
import dev.fortress.auth.Access;
import dev.fortress.auth.Scopes;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.ServerLifecycleListener;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warm-up as a designed phase: once Jetty listens, the instance sends its own hot routes (200s
 * and the errors a client can provoke) to its own application port, over real connections to
 * the real databases and Redis, from a few client threads, until the JIT has compiled them;
 * readiness (the critical {@code warmup} health check, initially down) turns 200 only then.
 * Under a client's full load the 64 request threads leave the JIT's compiler threads a sliver of
 * the two cores, and a cold instance ran at a third of its speed for minutes (before this class:
 * about 460 requests/s of GET /users/{id} in its first 10 s, 7,700 after 3 minutes).
 * <p>
 * It ends when at least {@code minRequests} were answered and the JIT has settled (less than a
 * tenth of a core compiling for two consecutive seconds), or at {@code maxDuration}, whichever
 * comes first; the log line and {@code dev.fortress.warmup.*} say which, and what it sent.
 * Warm-up requests count in the route metrics like any other request.
 */
public final class Warmup extends HealthCheck implements ServerLifecycleListener {

    public static final String CHECK = "warmup";
    private static final Logger LOG = LoggerFactory.getLogger(Warmup.class);
    /** The JIT has settled when it compiles less than this share of one core over a window... */
    private static final double SETTLED_COMPILE_SHARE = 0.1;
    /** ...for this many consecutive one-second windows. */
    private static final int SETTLED_WINDOWS = 2;

    private final WarmupConfiguration config;
    private final List<LongFunction<List<WarmupRequest>>> sources;
    private final LongSupplier org;
    private final Access access;
    private final Meter requests;
    private final Meter unexpected;
    private final Map<String, LongAdder> byRoute = new ConcurrentHashMap<>();
    private final AtomicLong startedNanos = new AtomicLong();
    private volatile boolean stopping;
    private volatile boolean done;
    private volatile double seconds;
    private volatile String summary = "not started: the server is not listening yet";

    private Warmup(
            WarmupConfiguration config,
            List<LongFunction<List<WarmupRequest>>> sources,
            LongSupplier org,
            Access access,
            MetricRegistry metrics) {
        this.config = config;
        this.sources = sources;
        this.org = org;
        this.access = access;
        this.requests = metrics.meter("dev.fortress.warmup.requests");
        this.unexpected = metrics.meter("dev.fortress.warmup.unexpected-responses");
        metrics.register("dev.fortress.warmup.done", (Gauge<Integer>) () -> done ? 1 : 0);
        metrics.register("dev.fortress.warmup.duration", (Gauge<Double>) () -> seconds);
    }

    /**
     * Registers the {@code warmup} health check and, when enabled, starts warming once the server
     * listens. It calls as organisation {@code org} (asked then), with a key that only this process
     * knows and that is refused once the warm-up ends ({@link Access#temporaryKey}, scopes read and
     * write: its writes are all refused by validation); {@code sources} are asked for that
     * organisation's requests (they may read sample data).
     */
    public static Warmup register(
            WarmupConfiguration config,
            Environment environment,
            Access access,
            LongSupplier org,
            List<LongFunction<List<WarmupRequest>>> sources) {
        Warmup warmup = new Warmup(config, sources, org, access, environment.metrics());
        environment.healthChecks().register(CHECK, warmup);
        if (config.isEnabled()) {
            environment.lifecycle().addServerLifecycleListener(warmup);
        } else {
            warmup.finish("off (warmup.enabled: false)", 0);
        }
        return warmup;
    }

    @Override
    protected Result check() {
        return done ? Result.healthy(summary) : Result.unhealthy("warming up: " + progress());
    }

    @Override
    public void serverStarted(Server server) {
        // Plain daemon threads, not a lifecycle executor: they exist only during the warm-up and end
        // with it, and an executor's stop (shutdown(), no interrupt, non-daemon threads) would leave
        // the senders looping to maxDuration and hold up the exit of an application stopped mid-warm-up.
        int port = getLocalPort(server);
        String base = "http://" + localHost(server, port) + ":" + port;
        Thread thread = new Thread(() -> run(base), "fortress-warmup");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Where the application port can be reached from this process: loopback when it listens on every
     * address, else the one address it is bound to (a fleet's host binds its own: bin/cluster).
     */
    static String localHost(Server server, int port) {
        for (Connector connector : server.getConnectors()) {
            if (connector instanceof NetworkConnector network && network.getLocalPort() == port) {
                String host = network.getHost();
                if (host == null
                        || host.isBlank()
                        || host.equals("0.0.0.0")
                        || host.equals("::")
                        || host.equals("[::]")) {
                    break;
                }
                return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
            }
        }
        return "127.0.0.1";
    }

    private void run(String base) {
        startedNanos.set(System.nanoTime());
        List<WarmupRequest> mix = new ArrayList<>();
        long orgId = 1;
        try {
            orgId = org.getAsLong();
            long as = orgId;
            sources.forEach(source -> mix.addAll(source.apply(as)));
        } catch (RuntimeException e) {
            // No sample data (the database is down): warm what needs none rather than nothing.
            LOG.warn("warm-up could not read its sample data ({}); warming the routes that need none", e.toString());
        }
        if (mix.isEmpty()) {
            finish("nothing to send", 0);
            return;
        }
        try (Access.TemporaryKey key = access.temporaryKey(orgId, Set.of(Scopes.READ, Scopes.WRITE))) {
            warm(base, mix, key.authorization(), key.unknownAuthorization());
        }
    }

    private void warm(String base, List<WarmupRequest> mix, String authorization, String unknown) {
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2))
                .build();
        long deadline = startedNanos.get() + config.getMaxDuration().toNanoseconds();
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < config.getConcurrency(); i++) {
            int offset = i;
            Thread worker = new Thread(
                    () -> send(client, base, mix, offset, deadline, authorization, unknown), "fortress-warmup-" + i);
            worker.setDaemon(true);
            worker.start();
            workers.add(worker);
        }
        String reason = awaitSettled(deadline);
        stopping = true;
        for (Thread worker : workers) {
            try {
                worker.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        finish(reason, System.nanoTime() - startedNanos.get());
    }

    /** Waits until enough requests were answered and the JIT settled, or the deadline; says which. */
    private String awaitSettled(long deadline) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean measurable = jit != null && jit.isCompilationTimeMonitoringSupported();
        long lastCompileMillis = measurable ? jit.getTotalCompilationTime() : 0;
        int quietWindows = 0;
        while (System.nanoTime() < deadline) {
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
            long compileMillis = measurable ? jit.getTotalCompilationTime() : 0;
            quietWindows = compileMillis - lastCompileMillis < SETTLED_COMPILE_SHARE * 1_000 ? quietWindows + 1 : 0;
            lastCompileMillis = compileMillis;
            if (requests.getCount() >= config.getMinRequests() && (!measurable || quietWindows >= SETTLED_WINDOWS)) {
                return measurable ? "the JIT settled" : "enough requests (no JIT compile time to watch)";
            }
        }
        return "its time bound (" + config.getMaxDuration() + ") came first";
    }

    private void send(
            HttpClient client,
            String base,
            List<WarmupRequest> mix,
            int offset,
            long deadline,
            String authorization,
            String unknown) {
        for (int i = offset; !stopping && System.nanoTime() < deadline; i++) {
            WarmupRequest request = mix.get(i % mix.size());
            HttpRequest.Builder http = HttpRequest.newBuilder(
                            URI.create(base + request.path().get()))
                    .header("Authorization", request.authenticated() ? authorization : unknown)
                    .timeout(Duration.ofSeconds(5));
            if (request.body() != null) {
                http.header("Content-Type", "application/json")
                        .method(request.method(), HttpRequest.BodyPublishers.ofString(request.body()));
            } else {
                http.method(request.method(), HttpRequest.BodyPublishers.noBody());
            }
            try {
                int status = client.send(http.build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode();
                requests.mark();
                byRoute.computeIfAbsent(request.label(), k -> new LongAdder()).increment();
                if (status != request.status()) {
                    unexpected.mark();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                unexpected.mark();
            }
        }
    }

    private void finish(String reason, long nanos) {
        seconds = nanos / 1e9;
        String sent = byRoute.entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + ": " + e.getValue().sum())
                .collect(Collectors.joining(", "));
        summary = String.format(
                "warm-up ended after %.1f s because %s: %d requests (%s), %d answered other " + "than expected",
                seconds, reason, requests.getCount(), sent.isEmpty() ? "none" : sent, unexpected.getCount());
        done = true;
        LOG.info(summary);
    }

    private String progress() {
        long started = startedNanos.get();
        return started == 0
                ? summary
                : String.format(
                        "%d requests in %.1f s so far", requests.getCount(), (System.nanoTime() - started) / 1e9);
    }
}
