package dev.fortress.jobs;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/** JobRunr: which role this instance plays, how many workers, and the dashboard. */
public class JobsConfiguration {

    /**
     * {@code all}: serve the API and run jobs; {@code api}: serve the API and only enqueue jobs;
     * {@code worker}: run jobs and serve no API (readiness, health, metrics and tasks only).
     */
    public enum Mode {
        ALL,
        API,
        WORKER;

        public boolean runsJobs() {
            return this != API;
        }

        public boolean servesApi() {
            return this != WORKER;
        }
    }

    @NotNull
    @JsonProperty
    private Mode mode;

    /** Concurrent jobs per instance (the design's import concurrency is 5). */
    @NotNull
    @Min(1)
    @Max(100)
    @JsonProperty
    private Integer workers;

    /** How often idle workers look for new jobs; JobRunr refuses less than 5 s on SQL storage. */
    @NotNull
    @MinDuration(value = 5, unit = TimeUnit.SECONDS)
    @JsonProperty
    private Duration pollInterval;

    /**
     * This instance's background server's name in JobRunr's storage and dashboard; blank: JobRunr's
     * own, the machine's host name (the same for every instance of one machine).
     */
    @JsonProperty
    private String serverName;

    @NotNull
    @Min(0)
    @Max(65535)
    @JsonProperty
    private Integer dashboardPort;

    /** The address the dashboard listens on: the admin port's (loopback unless told), since it has no key. */
    @NotBlank
    @JsonProperty
    private String dashboardBindHost;

    /** Dashboard credentials; with either missing the dashboard does not start. */
    @JsonProperty
    private String dashboardUser;

    @JsonProperty
    private String dashboardPassword;

    public Mode getMode() {
        return mode;
    }

    public int getWorkers() {
        return workers;
    }

    public Duration getPollInterval() {
        return pollInterval;
    }

    public String getServerName() {
        return serverName;
    }

    public int getDashboardPort() {
        return dashboardPort;
    }

    public String getDashboardBindHost() {
        return dashboardBindHost;
    }

    public boolean dashboardEnabled() {
        return dashboardUser != null
                && !dashboardUser.isBlank()
                && dashboardPassword != null
                && !dashboardPassword.isBlank();
    }

    public String getDashboardUser() {
        return dashboardUser;
    }

    public String getDashboardPassword() {
        return dashboardPassword;
    }
}
