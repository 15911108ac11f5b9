package dev.fortress.db;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.db.DataSourceFactory;
import jakarta.validation.constraints.NotNull;

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

    public boolean isTransactionPooler() {
        return transactionPooler;
    }

    public void setTransactionPooler(boolean transactionPooler) {
        this.transactionPooler = transactionPooler;
    }
}
