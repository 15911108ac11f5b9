package dev.fortress.db;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MaxDuration;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/**
 * A Dropwizard datasource that also says whether a transaction-mode pooler (PgBouncer) sits in
 * front of it. Such a pooler hands each transaction to any server connection, so a named
 * server-side prepared statement made on one can be missing, or another client's, on the next:
 * behind it the driver must not name statements ({@code prepareThreshold=0}).
 */
public class FortressDataSourceFactory extends DataSourceFactory {

    @NotNull
    @JsonProperty
    private Boolean transactionPooler;

    /**
     * The writer's only: how long a caller that finds no primary (none reachable, or a failover or a
     * switchover under way) waits for one before its request fails; 0 fails at once. A saturated pool
     * is not waited out: that still fails after maxWaitForConnection.
     */
    @NotNull
    @MaxDuration(value = 30, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration primaryWait = Duration.seconds(0);

    /**
     * The writer's only: how many callers may wait for a primary at once ({@link #primaryWait}); the
     * next fails at once. Each waiter holds a request thread and a place among the instance's
     * concurrent requests.
     */
    @Min(0)
    @JsonProperty
    private int primaryWaiters = 16;

    public int getPrimaryWaiters() {
        return primaryWaiters;
    }

    public void setPrimaryWaiters(int primaryWaiters) {
        this.primaryWaiters = primaryWaiters;
    }

    public Duration getPrimaryWait() {
        return primaryWait;
    }

    public void setPrimaryWait(Duration primaryWait) {
        this.primaryWait = primaryWait;
    }

    public boolean isTransactionPooler() {
        return transactionPooler;
    }

    public void setTransactionPooler(boolean transactionPooler) {
        this.transactionPooler = transactionPooler;
    }
}
