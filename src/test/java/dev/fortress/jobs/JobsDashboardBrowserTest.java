package dev.fortress.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.DashboardBrowser;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.OwnedProcesses;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What an operator sees: the JobRunr dashboard in Debian's Chromium, following a 300,000-row
 * import on its job page (the job id is the import id) from processing to succeeded. The page
 * shows the first state it fetches and every later one as the dashboard's server-sent events
 * bring it (JobRunr polls its storage for them every 5 s). Screenshots stay in target/screenshots/.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class JobsDashboardBrowserTest {

    /** The lock below is held while a browser looks, which may take longer than the role's guards allow. */
    private static final TestDatabase DB = TestDatabase.create()
            .withRoleDefault("statement_timeout", "60s")
            .withRoleDefault("idle_in_transaction_session_timeout", "60s");

    private static final int DASHBOARD_PORT = OwnedProcesses.freePort();
    private static final String USER = "ops";
    private static final String PASSWORD = "s3cret";
    private static final int ROWS = 300_000;
    /** The organisation of the key that uploads the import, and of every row in it (one digit: rows of 28 bytes). */
    private static final long ORG = 7;

    private static final Path SCREENSHOTS = Path.of("target", "screenshots");
    private static final List<Path> SCREENSHOT_FILES = List.of(
            SCREENSHOTS.resolve("jobrunr-dashboard-processing.png"),
            SCREENSHOTS.resolve("jobrunr-dashboard-succeeded.png"));
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            ConfigOverride.config("jobs.dashboardPort", String.valueOf(DASHBOARD_PORT)),
            ConfigOverride.config("jobs.dashboardUser", USER),
            ConfigOverride.config("jobs.dashboardPassword", PASSWORD));

    @Test
    void dashboardShowsTheImportJobByNameProcessingThenSucceeded() throws IOException {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, ORG));
        byte[] csv = csv();
        for (Path stale : SCREENSHOT_FILES) {
            Files.deleteIfExists(stale);
        }
        String id;
        Map<String, Object> done;
        try (DashboardBrowser browser =
                DashboardBrowser.open("http://127.0.0.1:" + DASHBOARD_PORT, USER, PASSWORD, SCREENSHOTS)) {
            assertThat(browser.ready())
                    .as("the dashboard without credentials")
                    .containsEntry("unauthenticatedStatus", 401);
            // The job's first COPY into users waits for this lock, so the job stays PROCESSING until
            // the page has shown it, however slow the machine: no race between job and browser. Held
            // for a few seconds only: past the writer's 30 s socketTimeout the COPY would fail.
            id = DB.jdbi().inTransaction(usersLocked -> {
                usersLocked.execute("lock table users in share mode");
                HttpResponse<String> accepted = api.send(HttpRequest.newBuilder(api.uri("/imports"))
                        .header("Content-Type", "text/csv")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(csv)));
                assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
                String importId = (String) Http.json(accepted).get("importId");
                browser.showJob(importId); // the job's id is the import's
                browser.awaitState("PROCESSING");
                return importId;
            }); // commit: the job goes on
            done = browser.awaitDone();
        }

        assertThat(DashboardBrowser.strings(done.get("states")))
                .as("states the page showed, in order")
                .containsSubsequence("PROCESSING", "SUCCEEDED")
                .endsWith("SUCCEEDED");
        // 22 header bytes + 300,000 rows of 28 bytes = 8,400,022 bytes
        assertThat(done).containsEntry("jobName", "Import " + id + ": 8.0 MiB");
        assertThat(DashboardBrowser.strings(done.get("pageErrors")))
                .as("JavaScript errors on the page")
                .isEmpty();
        // The job marks the import succeeded before JobRunr marks the job so.
        Map<String, Object> status = Http.json(api.get("/imports/" + id));
        assertThat(status)
                .containsEntry("status", "succeeded")
                .containsEntry("rowsTotal", ROWS)
                .containsEntry("rowsImported", ROWS)
                .containsEntry("rowsRejected", 0);
        assertThat(DashboardBrowser.strings(done.get("screenshots")))
                .containsExactlyElementsOf(
                        SCREENSHOT_FILES.stream().map(Path::toString).toList());
        for (Path screenshot : SCREENSHOT_FILES) {
            assertThat(screenshot).as("screenshot").isNotEmptyFile();
            assertThat(Arrays.copyOf(Files.readAllBytes(screenshot), 4))
                    .as("PNG signature")
                    .containsExactly(0x89, 'P', 'N', 'G');
        }
    }

    /** 300,000 valid rows of equal length, emails unique. */
    private static byte[] csv() {
        ByteArrayOutputStream csv = new ByteArrayOutputStream(9 << 20);
        csv.writeBytes("email,role,org_id,age\n".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < ROWS; i++) {
            csv.writeBytes(String.format("dash%06d@x.io,member,%d,30\n", i, ORG).getBytes(StandardCharsets.US_ASCII));
        }
        return csv.toByteArray();
    }
}
