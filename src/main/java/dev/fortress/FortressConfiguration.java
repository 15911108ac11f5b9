package dev.fortress;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.fortress.auth.AuthConfiguration;
import dev.fortress.auth.RateLimitsConfiguration;
import dev.fortress.cache.RedisConfiguration;
import dev.fortress.db.FortressDataSourceFactory;
import dev.fortress.db.ReplicaConfiguration;
import dev.fortress.http.EdgeConfiguration;
import dev.fortress.idempotency.IdempotencyConfiguration;
import dev.fortress.imports.ImportsConfiguration;
import dev.fortress.jobs.JobsConfiguration;
import dev.fortress.ops.WarmupConfiguration;
import dev.fortress.orgs.OrgsConfiguration;
import dev.fortress.transactions.TransactionsConfiguration;
import io.dropwizard.core.Configuration;
import io.dropwizard.util.Duration;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;

public class FortressConfiguration extends Configuration {

    /** The primary: every write, and reads that must see them. */
    @Valid
    @NotNull
    @JsonProperty
    private FortressDataSourceFactory writerDatabase;

    /** A streaming replica (or the primary when there is none): the hot read path. */
    @Valid
    @NotNull
    @JsonProperty
    private FortressDataSourceFactory readerDatabase;

    /** Statements slower than this are counted and logged by name (never with their values). */
    @NotNull
    @JsonProperty
    private Duration slowQueryThreshold;

    @Valid
    @NotNull
    @JsonProperty
    private JobsConfiguration jobs;

    @Valid
    @NotNull
    @JsonProperty
    private ImportsConfiguration imports;

    @Valid
    @NotNull
    @JsonProperty
    private RedisConfiguration redis;

    @Valid
    @NotNull
    @JsonProperty
    private OrgsConfiguration orgs;

    /** How far behind the reader may be before reads go to the writer. */
    @Valid
    @NotNull
    @JsonProperty
    private ReplicaConfiguration replica;

    /** API keys: how long a looked-up key is trusted, and how their use is recorded. */
    @Valid
    @NotNull
    @JsonProperty
    private AuthConfiguration auth;

    public AuthConfiguration getAuth() {
        return auth;
    }

    /** What one client, or all together, may hold of the application port. */
    @Valid
    @NotNull
    @JsonProperty
    private EdgeConfiguration edge;

    public EdgeConfiguration getEdge() {
        return edge;
    }

    /** Per-caller request rates and in-flight limits (docs/api.md "Limits"). */
    @Valid
    @NotNull
    @JsonProperty
    private RateLimitsConfiguration rateLimits;

    public RateLimitsConfiguration getRateLimits() {
        return rateLimits;
    }

    /** Idempotency-Key retention and purge. */
    @Valid
    @NotNull
    @JsonProperty
    private IdempotencyConfiguration idempotency;

    public IdempotencyConfiguration getIdempotency() {
        return idempotency;
    }

    /** The warm-up phase readiness waits for after start-up. */
    @Valid
    @NotNull
    @JsonProperty
    private WarmupConfiguration warmup;

    public WarmupConfiguration getWarmup() {
        return warmup;
    }

    public ReplicaConfiguration getReplica() {
        return replica;
    }

    @Valid
    @NotNull
    @JsonProperty
    private TransactionsConfiguration transactions;

    public TransactionsConfiguration getTransactions() {
        return transactions;
    }

    public RedisConfiguration getRedis() {
        return redis;
    }

    public OrgsConfiguration getOrgs() {
        return orgs;
    }

    public JobsConfiguration getJobs() {
        return jobs;
    }

    public ImportsConfiguration getImports() {
        return imports;
    }

    public FortressDataSourceFactory getWriterDatabase() {
        return writerDatabase;
    }

    public FortressDataSourceFactory getReaderDatabase() {
        return readerDatabase;
    }

    public Duration getSlowQueryThreshold() {
        return slowQueryThreshold;
    }
}
