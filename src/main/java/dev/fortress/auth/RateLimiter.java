package dev.fortress.auth;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.fortress.cache.Redis;
import io.dropwizard.jersey.errors.ErrorMessage;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * Per-caller fairness: a request rate per key (its own, {@code keys create --rate}, or
 * {@code rateLimits.requestsPerSecond}) and per client address for requests without a valid key,
 * both shared by every instance through Redis, and a number of requests per key in flight on this
 * instance ({@code rateLimits.maxInFlight}). Over a limit: 429 with {@code Retry-After} and the
 * {@code RateLimit-Policy} / {@code RateLimit} fields of draft-ietf-httpapi-ratelimit-headers-10
 * (docs/api.md "Limits").
 * <p>
 * The rate is a GCRA (generic cell rate algorithm, a token bucket kept as one number per caller: the
 * time its bucket is full again), one Lua script run by {@code EVALSHA}: one round trip per request,
 * on Redis's clock ({@code TIME}) so that instances' clocks do not matter. While Redis does not
 * answer (down, slow, its pool exhausted, or the breaker of {@link Redis} open) each instance runs
 * the same algorithm on its own ({@code dev.fortress.ratelimit.redis-fallbacks} counts those
 * decisions), so with N instances a caller may get up to N times its rate until Redis is back.
 * Not Bucket4j: it is not served here, and the local buckets must mean what the shared ones mean
 * (the same headers in both modes), which the same 20 lines of GCRA give with one AtomicLong per caller.
 * <p>
 * Process-local keys ({@link Access#temporaryKey}, id 0: the warm-up's) are not limited.
 */
final class RateLimiter {

    static final String LIMITED = "dev.fortress.ratelimit.limited";
    static final String FALLBACKS = "dev.fortress.ratelimit.redis-fallbacks";
    static final String KEY = "key";
    static final String ADDRESS = "address";
    static final String IN_FLIGHT = "inflight";

    /**
     * KEYS[1]: the caller's bucket; ARGV[1]: microseconds per request; ARGV[2]: the burst. Returns
     * {admitted 1|0, requests left, microseconds until the next one is admitted (refused only),
     * microseconds until the bucket is full}. The key expires once the bucket is full again.
     */
    static final String GCRA = """
            local emission = tonumber(ARGV[1])
            local tolerance = emission * tonumber(ARGV[2])
            local time = redis.call('TIME')
            local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
            local tat = tonumber(redis.call('GET', KEYS[1]) or now)
            if tat < now then tat = now end
            local nxt = tat + emission
            if nxt - now > tolerance then
              return {0, 0, math.ceil(nxt - tolerance - now), math.ceil(tat - now)}
            end
            redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
            return {1, math.floor((tolerance - (nxt - now)) / emission), 0, math.ceil(nxt - now)}
            """;

    static final String GCRA_SHA = sha1(GCRA);

    private final Redis redis;
    private final double keyRate;
    private final int keyBurst;
    private final int maxInFlight;
    private final double addressRate;
    private final int addressBurst;
    private final String keyPrefix;
    private final String addressPrefix;
    private final String keyPolicy;
    private final String addressPolicy;
    private final Cache<String, AtomicLong> local;
    /**
     * A bucket Redis refused, until when (nanos): it cannot admit before then whatever other instances
     * do, so its requests are refused here without a round trip. A greedy key's 429s each cost an
     * EVALSHA otherwise: 145,676 of them beside the polite load in bench/hostile.
     */
    private final Cache<String, Long> refusedUntil;

    private final Map<Long, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final LongSupplier nanos;
    private final Meter limitedKey;
    private final Meter limitedAddress;
    private final Meter limitedInFlight;
    private final Meter fallbacks;

    RateLimiter(RateLimitsConfiguration config, Redis redis, MetricRegistry metrics, LongSupplier nanos) {
        this.redis = redis;
        this.keyRate = config.getRequestsPerSecond();
        this.keyBurst = config.getBurst();
        this.maxInFlight = config.getMaxInFlight();
        this.addressRate = config.getUnauthenticatedRequestsPerSecond();
        this.addressBurst = config.getUnauthenticatedBurst();
        this.keyPrefix = config.getNamespace() + ":rl:key:";
        this.addressPrefix = config.getNamespace() + ":rl:addr:";
        this.keyPolicy = policy(KEY, keyRate, keyBurst);
        this.addressPolicy = policy(ADDRESS, addressRate, addressBurst);
        this.local = Caffeine.newBuilder()
                .maximumSize(config.getLocalBuckets())
                .expireAfterAccess(Duration.ofMinutes(10))
                .build();
        this.refusedUntil = Caffeine.newBuilder()
                .maximumSize(config.getLocalBuckets())
                .expireAfterWrite(Duration.ofMinutes(10))
                .build();
        this.nanos = nanos;
        this.limitedKey = metrics.meter(MetricRegistry.name(LIMITED, KEY));
        this.limitedAddress = metrics.meter(MetricRegistry.name(LIMITED, ADDRESS));
        this.limitedInFlight = metrics.meter(MetricRegistry.name(LIMITED, IN_FLIGHT));
        this.fallbacks = metrics.meter(FALLBACKS);
    }

    /**
     * The caller with a valid key is admitted (holding one of its in-flight places until
     * {@link Access.Allowed#release}) or refused with a 429. At most one Redis round trip; none when
     * its requests in flight are already at the limit.
     */
    Access.Decision admit(Caller caller) {
        if (caller.keyId() == 0) {
            return new Access.Allowed(caller);
        }
        AtomicInteger held = inFlight.get(caller.keyId());
        if (held == null) {
            AtomicInteger fresh = new AtomicInteger();
            held = inFlight.putIfAbsent(caller.keyId(), fresh);
            held = held == null ? fresh : held;
        }
        if (held.incrementAndGet() > maxInFlight) {
            held.decrementAndGet();
            limitedInFlight.mark();
            return new Access.Refused(tooMany(
                    1,
                    keyPolicy(caller),
                    "\"" + KEY + "\";r=0;t=1",
                    "too many requests in flight for this key (at most " + maxInFlight + " at once per instance)"));
        }
        double rate = caller.requestsPerSecond() > 0 ? caller.requestsPerSecond() : keyRate;
        int burst = caller.requestsPerSecond() > 0 ? burstAt(rate) : keyBurst;
        String bucket = keyPrefix + caller.keyId();
        long outcome = take(bucket, rate, burst);
        if (outcome < 0) {
            held.decrementAndGet();
            limitedKey.mark();
            long retry = -outcome;
            String policy = keyPolicy(caller);
            String state = "\"" + KEY + "\";r=0;t=" + retry;
            String message =
                    "rate limit of this key exceeded: " + shown(rate) + " requests per second, bursts of " + burst;
            Long until = refusedUntil.getIfPresent(bucket); // absent while Redis does not answer: no edge refusals
            return new Access.Refused(
                    tooMany(retry, policy, state, message),
                    until == null ? null : new Access.RateRefusal(until, retry, policy, state, message));
        }
        return new Access.Allowed(
                caller, "\"" + KEY + "\";r=" + (outcome >>> 32) + ";t=" + (outcome & 0xFFFF_FFFFL), held);
    }

    /** A request of a key refused for its rate, answered at the edge ({@link Access#refusedAtEdge}). */
    void refusedAtEdge() {
        limitedKey.mark();
    }

    /** For a request without a valid key from {@code address}: null when it may have its 401, else the 429. */
    Response unauthenticated(String address) {
        long outcome = take(addressPrefix + address, addressRate, addressBurst);
        if (outcome >= 0) {
            return null;
        }
        limitedAddress.mark();
        long retry = -outcome;
        return tooMany(
                retry,
                addressPolicy,
                "\"" + ADDRESS + "\";r=0;t=" + retry,
                "too many requests without a valid key from this address: " + shown(addressRate)
                        + " per second, bursts of " + addressBurst);
    }

    /** A key's own rate's burst: as many seconds of it as the default's burst is of the default rate. */
    int burstAt(double rate) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.round(rate * keyBurst / keyRate)));
    }

    private String keyPolicy(Caller caller) {
        double rate = caller.requestsPerSecond();
        return rate > 0 ? policy(KEY, rate, burstAt(rate)) : keyPolicy;
    }

    /** {@code "key";q=<burst>;w=<seconds the rate takes to refill it>}: the draft's quota policy item. */
    static String policy(String name, double rate, int burst) {
        return "\"" + name + "\";q=" + burst + ";w=" + Math.max(1, Math.round(burst / rate));
    }

    private static String shown(double rate) {
        return rate == Math.rint(rate) ? String.valueOf((long) rate) : String.valueOf(rate);
    }

    private static Response tooMany(long retryAfter, String policy, String state, String message) {
        return Response.status(429)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .header("Retry-After", retryAfter)
                .header("RateLimit-Policy", policy)
                .header("RateLimit", state)
                .entity(new ErrorMessage(429, message))
                .build();
    }

    /**
     * One request from {@code bucket}: when admitted, {@code remaining << 32 | seconds until full};
     * when refused, minus the seconds until it would be admitted (at least 1).
     */
    long take(String bucket, double perSecond, int burst) {
        Long until = refusedUntil.getIfPresent(bucket);
        if (until != null) {
            long left = until - nanos.getAsLong();
            if (left > 0) {
                return -seconds(left / 1_000);
            }
            refusedUntil.invalidate(bucket);
        }
        double emission = 1e6 / perSecond;
        Optional<Object> answer = redis.call("rate limit", jedis -> evaluate(jedis, bucket, emission, burst));
        if (answer.isPresent() && answer.get() instanceof List<?> values && values.size() == 4) {
            long admitted = (Long) values.get(0);
            if (admitted == 1) {
                return admitted((Long) values.get(1), (Long) values.get(3));
            }
            long micros = (Long) values.get(2);
            refusedUntil.put(bucket, nanos.getAsLong() + micros * 1_000);
            return -seconds(micros);
        }
        fallbacks.mark();
        return takeLocally(bucket, emission, burst);
    }

    private static Object evaluate(Jedis jedis, String bucket, double emission, int burst) {
        List<String> keys = List.of(bucket);
        List<String> args = List.of(String.valueOf(emission), String.valueOf(burst));
        try {
            return jedis.evalsha(GCRA_SHA, keys, args);
        } catch (JedisNoScriptException restarted) {
            return jedis.eval(GCRA, keys, args); // a restarted Redis has lost its scripts: EVAL loads it again
        }
    }

    /** The same GCRA on this instance alone, in nanoseconds. */
    private long takeLocally(String bucket, double emissionMicros, int burst) {
        AtomicLong full = local.get(bucket, b -> new AtomicLong(Long.MIN_VALUE));
        long emission = Math.max(1, (long) (emissionMicros * 1_000));
        long tolerance = emission * burst;
        while (true) {
            long now = nanos.getAsLong();
            long current = full.get();
            long tat = current == Long.MIN_VALUE || current - now < 0 ? now : current;
            long next = tat + emission;
            if (next - now > tolerance) {
                return -seconds((next - tolerance - now) / 1_000);
            }
            if (full.compareAndSet(current, next)) {
                return admitted((tolerance - (next - now)) / emission, (next - now) / 1_000);
            }
        }
    }

    private static long admitted(long remaining, long microsUntilFull) {
        return Math.min(Integer.MAX_VALUE, Math.max(0, remaining)) << 32 | seconds(microsUntilFull);
    }

    /** Whole seconds, rounded up, at least 1 (Retry-After and the draft's {@code t} are integers). */
    private static long seconds(long micros) {
        return Math.max(1, Math.min(Integer.MAX_VALUE, (micros + 999_999) / 1_000_000));
    }

    private static String sha1(String script) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
