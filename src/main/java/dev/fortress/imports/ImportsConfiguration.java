package dev.fortress.imports;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MaxDataSize;
import io.dropwizard.validation.MinDataSize;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Imports: upload bounds, the spool, the job's batches, retention (defaults and reasons in config.yml). */
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

    /**
     * The statement_timeout of each batch's transaction, in place of the role's 5 s (changeset 15): a
     * COPY and merge of {@code batchRows} rows on a busy writer may take longer.
     */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration batchStatementTimeout;

    public Duration getBatchStatementTimeout() {
        return batchStatementTimeout;
    }

    /** A CSV record longer than this is rejected as a row error without being held in memory. */
    @NotNull
    @MinDataSize(64)
    @MaxDataSize(value = 16, unit = io.dropwizard.util.DataSizeUnit.MEBIBYTES)
    @JsonProperty
    private DataSize maxLineSize;

    /**
     * Where uploads are written while their bytes arrive, before any database connection is taken;
     * empty: {@code fortress-imports} under {@code java.io.tmpdir}.
     */
    @JsonProperty
    private String spoolDirectory = "";

    /** Uploads of one organisation at once on an instance; one more answers 429. */
    @NotNull
    @Min(1)
    @Max(1_000)
    @JsonProperty
    private Integer maxUploadsPerOrg;

    /** Uploads at once on an instance, all organisations; one more answers 503. */
    @NotNull
    @Min(1)
    @Max(10_000)
    @JsonProperty
    private Integer maxConcurrentUploads;

    /** The Retry-After of a refused upload (429 or 503). */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration uploadRetryAfter;

    /** A finished import (rows, status, organisations) is deleted this long after it finished. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.MINUTES)
    @JsonProperty
    private Duration retention;

    /** An upload still 'uploading' this long after it started was left by an instance that died: deleted. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.MINUTES)
    @JsonProperty
    private Duration abandonAfter;

    /** When the purge runs (JobRunr cron, UTC). */
    @NotBlank
    @JsonProperty
    private String purgeCron;

    public Path getSpoolDirectory() {
        return spoolDirectory == null || spoolDirectory.isBlank()
                ? Path.of(System.getProperty("java.io.tmpdir"), "fortress-imports")
                : Path.of(spoolDirectory);
    }

    public int getMaxUploadsPerOrg() {
        return maxUploadsPerOrg;
    }

    public int getMaxConcurrentUploads() {
        return maxConcurrentUploads;
    }

    public Duration getUploadRetryAfter() {
        return uploadRetryAfter;
    }

    public Duration getRetention() {
        return retention;
    }

    public Duration getAbandonAfter() {
        return abandonAfter;
    }

    public String getPurgeCron() {
        return purgeCron;
    }

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
