package dev.fortress.imports;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.DataSize;
import io.dropwizard.validation.MaxDataSize;
import io.dropwizard.validation.MinDataSize;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;

public class ImportsConfiguration {

    /** Largest accepted upload; larger answers 413 and stores nothing. */
    @NotNull
    @MinDataSize(1)
    @JsonProperty
    private DataSize maxUploadSize;

    /** Rows per COPY-and-merge transaction: each commit is a resumable step and a progress update. */
    @NotNull
    @Min(100)
    @Max(1_000_000)
    @JsonProperty
    private Integer batchRows;

    /** A CSV record longer than this is rejected as a row error without being held in memory. */
    @NotNull
    @MinDataSize(64)
    @MaxDataSize(value = 16, unit = io.dropwizard.util.DataSizeUnit.MEBIBYTES)
    @JsonProperty
    private DataSize maxLineSize;

    public DataSize getMaxUploadSize() {
        return maxUploadSize;
    }

    public int getBatchRows() {
        return batchRows;
    }

    public void setBatchRows(int batchRows) {
        this.batchRows = batchRows;
    }

    public DataSize getMaxLineSize() {
        return maxLineSize;
    }
}
