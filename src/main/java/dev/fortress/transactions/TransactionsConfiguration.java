package dev.fortress.transactions;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/** The window of monthly partitions kept for {@code transactions}, their upkeep, and the summary rollups. */
public class TransactionsConfiguration {

    /** Months kept before the current one; older partitions are detached (and dropped). */
    @NotNull
    @Min(0)
    @Max(1200)
    @JsonProperty
    private Integer retentionMonths;

    /** Months created ahead of the current one, so inserts never wait for upkeep. */
    @NotNull
    @Min(1)
    @Max(120)
    @JsonProperty
    private Integer premakeMonths;

    /** Drop partitions once detached (true), or keep them as plain tables for archiving (false). */
    @NotNull
    @JsonProperty
    private Boolean dropDetached;

    /** When the upkeep runs (JobRunr cron, UTC); it also runs at start-up. */
    @NotNull
    @NotBlank
    @JsonProperty
    private String maintenanceCron;

    /**
     * How often the rollup job runs (JobRunr). No default here: config.yml has it. JobRunr looks for
     * due jobs once per poll interval (at least 5 s on SQL storage), so less would not run sooner.
     */
    @NotNull
    @MinDuration(value = 5, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration rollupInterval;

    /** The {@code rollups} health check turns unhealthy when the oldest write not rolled up is older. */
    @NotNull
    @JsonProperty
    private Duration rollupMaxLag;

    /**
     * The {@code statement_timeout} of the rollup batches' and partition maintenance's transactions,
     * instead of the role's (changeset 15). Null (tests that build this by hand): the role's.
     */
    @JsonProperty
    private Duration jobStatementTimeout;

    public TransactionsConfiguration() {}

    public TransactionsConfiguration(int retentionMonths, int premakeMonths, boolean dropDetached) {
        this.retentionMonths = retentionMonths;
        this.premakeMonths = premakeMonths;
        this.dropDetached = dropDetached;
    }

    public int getRetentionMonths() {
        return retentionMonths;
    }

    public int getPremakeMonths() {
        return premakeMonths;
    }

    public boolean isDropDetached() {
        return dropDetached;
    }

    public String getMaintenanceCron() {
        return maintenanceCron;
    }

    /** Null: the role's statement_timeout. */
    public Duration getJobStatementTimeout() {
        return jobStatementTimeout;
    }

    public Duration getRollupInterval() {
        return rollupInterval;
    }

    public Duration getRollupMaxLag() {
        return rollupMaxLag;
    }
}
