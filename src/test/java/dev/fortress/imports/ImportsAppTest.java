package dev.fortress.imports;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Imports end to end: upload over HTTP, JobRunr picks the job up, the status endpoint reports. The
 * uploads are made with a key of organisation {@link #ORG} with every scope, and their rows are of
 * that organisation, unless a test says otherwise.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class ImportsAppTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final int DASHBOARD_PORT = freePort();
    private static final long LIMIT = 16L * 1024 * 1024;
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB,
            ConfigOverride.config("imports.maxUploadSize", "16MiB"),
            // Two per organisation (config.yml's), three in all: a few held uploads reach both bounds.
            ConfigOverride.config("imports.maxUploadsPerOrg", "2"),
            ConfigOverride.config("imports.maxConcurrentUploads", "3"),
            ConfigOverride.config("jobs.dashboardPort", String.valueOf(DASHBOARD_PORT)),
            ConfigOverride.config("jobs.dashboardUser", "ops"),
            ConfigOverride.config("jobs.dashboardPassword", "s3cret"));
    private static final Jdbi JDBI = DB.jdbi();
    private static final long ORG = 2;
    private static final long OTHER_ORG = 3;
    private static String apiKey;

    @BeforeAll
    static void aKey() {
        apiKey = TestKeys.of(DB, ORG);
    }

    private Http api() {
        return api(apiKey);
    }

    private Http api(String key) {
        return new Http("127.0.0.1", APP.getLocalPort()).as(key);
    }

    private HttpResponse<String> upload(byte[] csv, String contentType, String idempotencyKey) {
        return upload(api(), csv, contentType, idempotencyKey);
    }

    private HttpResponse<String> upload(Http api, byte[] csv, String contentType, String idempotencyKey) {
        HttpRequest.Builder request = HttpRequest.newBuilder(api.uri("/imports"))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(csv));
        if (idempotencyKey != null) {
            request.header("Idempotency-Key", idempotencyKey);
        }
        return api.send(request);
    }

    private HttpResponse<String> upload(String csv) {
        return upload(csv.getBytes(StandardCharsets.UTF_8), "text/csv", null);
    }

    /** Polls GET /imports/{id} until it is finished (JobRunr polls every 5 s). */
    private Map<String, Object> finished(HttpResponse<String> accepted) {
        return finished(api(), accepted);
    }

    /** As {@link #finished(HttpResponse)}, asking with {@code api}'s key. */
    private Map<String, Object> finished(Http api, HttpResponse<String> accepted) {
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String id = (String) Http.json(accepted).get("importId");
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            Map<String, Object> status = Http.json(api.get("/imports/" + id));
            if (status.get("status").equals("succeeded")
                    || status.get("status").equals("failed")
                    || System.nanoTime() > deadline) {
                return status;
            }
            LockSupport.parkNanos(Duration.ofMillis(250).toNanos());
        }
    }

    private static long count(String sql) {
        return JDBI.withHandle(h -> h.select(sql).mapTo(Long.class).one());
    }

    @Test
    void tenThousandRowsWithThreeBadOnesImportExactly() {
        StringBuilder csv = new StringBuilder("email,role,org_id,age\n");
        for (int i = 0; i < 10_003; i++) {
            int line = i + 2;
            if (line == 102) {
                csv.append("not-an-email,member,2,30\n");
            } else if (line == 5_002) {
                csv.append("bulk-bad-age@x.io,member,2,200\n");
            } else if (line == 10_004) {
                csv.append("bulk0@x.io,admin,2,30\n"); // the first row's email again
            } else {
                csv.append("bulk").append(i).append("@x.io,member,2,30\n");
            }
        }

        HttpResponse<String> accepted = upload(csv.toString());

        assertThat(Http.json(accepted)).containsEntry("status", "queued").containsKey("importId");
        assertThat(accepted.headers().firstValue("Location"))
                .hasValueSatisfying(location -> assertThat(location)
                        .endsWith("/imports/" + Http.json(accepted).get("importId")));
        Map<String, Object> status = finished(accepted);
        assertThat(status)
                .containsEntry("status", "succeeded")
                .containsEntry("rowsTotal", 10_003)
                .containsEntry("rowsImported", 10_000)
                .containsEntry("rowsRejected", 3);
        assertThat(status.get("errors").toString())
                .contains("line=102, message=email must be a well-formed email address")
                .contains("line=5002, message=age must be between 0 and 150")
                .contains("line=10004, message=email bulk0@x.io already exists");
        assertThat(count("select count(*) from users where email like 'bulk%'")).isEqualTo(10_000);
        assertThat(count("select count(*) from users where email like 'bulk%' and org_id = 2"))
                .isEqualTo(10_000);
    }

    @Test
    void awkwardButValidCsvIsReadRowByRow() {
        ByteArrayOutputStream csv = new ByteArrayOutputStream();
        write(csv, "\uFEFFemail,role,org_id,age\r\n"); // BOM, CRLF
        write(csv, "\"odd1@x.io\",\"admin\",\"2\",\"40\"\r\n"); // line 2: all quoted
        write(csv, "\"odd2,@x.io\",member,2,40\r\n"); // 3: comma inside quotes, not an email
        write(csv, "odd3@x.io,\"mem\nber\",2,40\r\n"); // 4-5: newline inside quotes
        csv.writeBytes(new byte[] {'o', 'd', 'd', (byte) 0xC3, (byte) 0x28, '@', 'x', '.', 'i', 'o'});
        write(csv, ",viewer,2,40\r\n"); // 6: invalid UTF-8
        write(csv, "x".repeat(10 * 1024 * 1024) + "\r\n"); // 7: a 10 MB line
        write(csv, "existing@x.io,viewer,2,40\r\n"); // 8: already in users
        write(csv, "odd4@x.io,viewer,2,40\r\n"); // 9
        write(csv, "ODD4@x.io,viewer,2,40"); // 10: duplicate in file, no final newline
        JDBI.useHandle(h ->
                h.execute("insert into users (email, role, org_id, age) values ('Existing@x.io', 'admin', 2, 30)"));

        Map<String, Object> status = finished(upload(csv.toByteArray(), "text/csv; charset=utf-8", null));

        assertThat(status)
                .containsEntry("status", "succeeded")
                .containsEntry("rowsTotal", 8)
                .containsEntry("rowsImported", 2)
                .containsEntry("rowsRejected", 6);
        assertThat(status.get("errors").toString())
                .contains("line=3, message=email must be a well-formed email address")
                .contains("line=4, message=role must be one of admin, member, viewer")
                .contains("line=6, message=invalid UTF-8")
                .contains("line=7, message=line is longer than 65536 bytes and was skipped")
                .contains("line=8, message=email existing@x.io already exists")
                .contains("line=10, message=email ODD4@x.io already exists");
        assertThat(count("select count(*) from users where email in ('odd1@x.io', 'odd4@x.io')"))
                .isEqualTo(2);
    }

    @Test
    void wrongHeaderFailsWithAReasonAndItsUploadIsFreed() {
        Map<String, Object> status = finished(upload("email;role;org_id;age\nh@x.io;admin;2;30\n"));

        assertThat(status).containsEntry("status", "failed").containsEntry("rowsImported", 0);
        assertThat((String) status.get("reason")).startsWith("header must be exactly email,role,org_id,age");
        assertThat(count("select count(*) from import_chunks where import_id = '" + status.get("importId") + "'"))
                .as("a failed import's chunks are deleted")
                .isZero();
    }

    /** Waits until {@code uploads} uploads are in progress and the spool holds at least {@code bytes}. */
    private void awaitSpooled(int uploads, long bytes) {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (metrics.intGauge("dev.fortress.imports.uploads-in-progress") < uploads
                || ((Number) metrics.gauge("dev.fortress.imports.spool-bytes")).longValue() < bytes) {
            assertThat(System.nanoTime())
                    .as("%d uploads spooling %d bytes", uploads, bytes)
                    .isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }

    /** Waits until no upload is in progress and the spool is empty. */
    private void awaitNoUploads() {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (metrics.intGauge("dev.fortress.imports.uploads-in-progress") != 0
                || ((Number) metrics.gauge("dev.fortress.imports.spool-bytes")).longValue() != 0) {
            assertThat(System.nanoTime()).as("uploads finished").isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }

    /** The writer's connections in a transaction, or running a statement, on the imports tables. */
    private static long writerConnectionsOnImports() {
        return count("select count(*) from pg_stat_activity where datname = current_database() "
                + "and application_name = 'fortress-writer' and state in ('active', 'idle in transaction') "
                + "and query ~* '\\mimport(s|_chunks|_orgs)\\M'");
    }

    private static long advisoryLocks() {
        return count("select count(*) from pg_locks where locktype = 'advisory' "
                + "and database = (select oid from pg_database where datname = current_database())");
    }

    /**
     * An upload sent over a raw socket with a chunked body, a part at a time, as a slow client
     * sends it: nothing but the test decides when the next bytes come.
     */
    private final class SlowUpload implements AutoCloseable {
        private final java.net.Socket socket;
        private final java.io.OutputStream out;
        long sent;

        SlowUpload(Http api, String key, String idempotencyKey) {
            try {
                socket = new java.net.Socket("127.0.0.1", APP.getLocalPort());
                socket.setSoTimeout(60_000);
                out = socket.getOutputStream();
                out.write(("POST /imports HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                                + (idempotencyKey == null ? "" : "Idempotency-Key: " + idempotencyKey + "\r\n")
                                + "Authorization: Bearer " + key + "\r\n"
                                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        SlowUpload send(String part) {
            byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
            try {
                out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(bytes);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            sent += bytes.length;
            return this;
        }

        /** The last chunk; the server's whole answer. */
        String finish() {
            try {
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static String rowsOf(String prefix, int from, int to) {
        StringBuilder rows = new StringBuilder();
        for (int i = from; i < to; i++) {
            rows.append(prefix).append(i).append("@x.io,member,2,30\n");
        }
        return rows.toString();
    }

    @Test
    void aSlowUploadHoldsNoWriterConnectionWhileItWaitsForBytesAndImportsOnce() throws Exception {
        long imports = count("select count(*) from imports");
        assertThat(count("select count(*) from pg_stat_activity where datname = current_database() "
                        + "and application_name = 'fortress-writer'"))
                .as("the writer's connections are named so")
                .isPositive();
        String answer;
        try (SlowUpload slow = new SlowUpload(api(), apiKey, null)) {
            slow.send("email,role,org_id,age\n" + rowsOf("slow", 0, 1_000));
            for (int part = 1; part <= 3; part++) {
                // The server has every byte sent so far and waits for more: what does it hold?
                awaitSpooled(1, slow.sent);
                assertThat(writerConnectionsOnImports())
                        .as("writer connections on imports while waiting (part %d)", part)
                        .isZero();
                assertThat(advisoryLocks())
                        .as("Idempotency-Key locks while waiting")
                        .isZero();
                assertThat(count("select count(*) from imports"))
                        .as("nothing stored while waiting")
                        .isEqualTo(imports);
                slow.send(rowsOf("slow", part * 1_000, (part + 1) * 1_000));
            }
            answer = slow.finish();
        }

        assertThat(answer).startsWith("HTTP/1.1 202");
        String id = answer.substring(answer.indexOf("\"importId\":\"") + 12, answer.indexOf("\"importId\":\"") + 48);
        HttpResponse<String> status = api().get("/imports/" + id);
        assertThat(status.statusCode()).isEqualTo(200);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!Http.json(api().get("/imports/" + id)).get("status").equals("succeeded")) {
            assertThat(System.nanoTime()).as("import %s finished", id).isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(250).toNanos());
        }
        assertThat(Http.json(api().get("/imports/" + id)))
                .containsEntry("rowsImported", 4_000)
                .containsEntry("rowsRejected", 0);
        assertThat(count("select count(*) from users where email like 'slow%@x.io'"))
                .isEqualTo(4_000);
        assertThat(count("select count(*) from imports")).isEqualTo(imports + 1);
        awaitNoUploads();
    }

    @Test
    void uploadsOverTheOrganisationsAndTheInstancesBoundsAre429And503AndStoreNothing() throws Exception {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        String otherKey = TestKeys.of(DB, OTHER_ORG);
        long imports = count("select count(*) from imports");
        long chunks = count("select count(*) from import_chunks");
        byte[] csv = "email,role,org_id,age\nbounded@x.io,member,2,30\n".getBytes(StandardCharsets.UTF_8);
        long orgRefusals = metrics.meter("dev.fortress.imports.uploads-refused.org-limit");
        long instanceRefusals = metrics.meter("dev.fortress.imports.uploads-refused.instance-limit");
        HttpResponse<String> overOrg;
        HttpResponse<String> overInstance;
        long uploadBytes;
        try (SlowUpload first = new SlowUpload(api(), apiKey, null);
                SlowUpload second = new SlowUpload(api(), apiKey, null);
                SlowUpload third = new SlowUpload(api(otherKey), otherKey, null)) {
            first.send("email,role,org_id,age\n");
            second.send("email,role,org_id,age\n");
            third.send("email,role,org_id,age\n");
            awaitSpooled(3, first.sent + second.sent + third.sent);
            uploadBytes = metrics.meter("dev.fortress.imports.upload-bytes");

            overOrg = upload(csv, "text/csv", null); // ORG's third
            overInstance = upload(api(otherKey), csv, "text/csv", null); // OTHER_ORG's second, the instance's fourth

            assertThat(metrics.meter("dev.fortress.imports.upload-bytes"))
                    .as("no byte of a refused body read")
                    .isEqualTo(uploadBytes);
            // The held uploads break off: they leave nothing behind either.
        }

        assertThat(overOrg.statusCode()).isEqualTo(429);
        assertThat(overOrg.headers().firstValue("Retry-After")).hasValue("10");
        assertThat(Http.json(overOrg))
                .isEqualTo(
                        Map.of(
                                "code",
                                429,
                                "message",
                                "this organisation already has 2 uploads in progress on this instance; retry once one has answered"));
        assertThat(overInstance.statusCode()).isEqualTo(503);
        assertThat(overInstance.headers().firstValue("Retry-After")).hasValue("10");
        assertThat(Http.json(overInstance))
                .isEqualTo(
                        Map.of("code", 503, "message", "this instance already has 3 uploads in progress; retry later"));
        assertThat(metrics.meter("dev.fortress.imports.uploads-refused.org-limit"))
                .isEqualTo(orgRefusals + 1);
        assertThat(metrics.meter("dev.fortress.imports.uploads-refused.instance-limit"))
                .isEqualTo(instanceRefusals + 1);
        awaitNoUploads();
        assertThat(count("select count(*) from imports")).isEqualTo(imports);
        assertThat(count("select count(*) from import_chunks")).isEqualTo(chunks);
        assertThat(count("select count(*) from users where email = 'bounded@x.io'"))
                .isZero();
        assertThat(upload(csv, "text/csv", null).statusCode())
                .as("room again once they answered")
                .isEqualTo(202);
    }

    @Test
    void aCompressedUploadIs415BeforeAnyByteIsInflatedOrStored() throws Exception {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        long imports = count("select count(*) from imports");
        long refused = metrics.meter("dev.fortress.imports.uploads-refused.content-encoding");
        long uploadBytes = metrics.meter("dev.fortress.imports.upload-bytes");
        // 8 MiB of rows gzip to a few KiB: inflated, they would be stored as 8 MiB.
        ByteArrayOutputStream gzipped = new ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gzip = new java.util.zip.GZIPOutputStream(gzipped)) {
            gzip.write("email,role,org_id,age\n".getBytes(StandardCharsets.UTF_8));
            byte[] row = "bomb@x.io,member,2,30\n".getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 8 * 1024 * 1024 / row.length; i++) {
                gzip.write(row);
            }
        }

        List<HttpResponse<String>> answers = new java.util.ArrayList<>();
        for (String encoding : List.of("gzip", "deflate", "br", "gzip, identity")) {
            answers.add(api().send(HttpRequest.newBuilder(api().uri("/imports"))
                    .header("Content-Type", "text/csv")
                    .header("Content-Encoding", encoding)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(gzipped.toByteArray()))));
        }
        String plain = "email,role,org_id,age\nplain@x.io,member,2,30\n";
        HttpResponse<String> identity = api().send(HttpRequest.newBuilder(api().uri("/imports"))
                .header("Content-Type", "text/csv")
                .header("Content-Encoding", "identity")
                .POST(HttpRequest.BodyPublishers.ofString(plain)));

        for (HttpResponse<String> answer : answers) {
            assertThat(answer.statusCode()).isEqualTo(415);
            assertThat(Http.json(answer))
                    .isEqualTo(Map.of(
                            "code",
                            415,
                            "message",
                            "Content-Encoding must be identity (absent): send the CSV uncompressed"));
        }
        assertThat(metrics.meter("dev.fortress.imports.uploads-refused.content-encoding"))
                .isEqualTo(refused + 4);
        assertThat(identity.statusCode()).as("identity is no coding at all").isEqualTo(202);
        assertThat(metrics.meter("dev.fortress.imports.upload-bytes"))
                .as("no byte of the refused ones read")
                .isEqualTo(uploadBytes + plain.length());
        assertThat(count("select count(*) from imports")).isEqualTo(imports + 1);
        assertThat(count("select count(*) from users where email = 'bomb@x.io'"))
                .isZero();
    }

    @Test
    void importsPastTheRetentionArePurgedAndThenUnknown() {
        Map<String, Object> done = finished(upload("email,role,org_id,age\nretained@x.io,member,2,30\n"));
        String id = (String) done.get("importId");
        JDBI.useHandle(
                h -> h.execute("update imports set finished_at = now() - interval '8 days' where id = '" + id + "'"));
        Http admin = new Http("127.0.0.1", APP.getAdminPort());

        HttpResponse<String> purged = admin.send(
                HttpRequest.newBuilder(admin.uri("/tasks/imports-purge")).POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(purged.statusCode()).isEqualTo(200);
        assertThat(purged.body()).startsWith("purged 1 finished imports and 0 abandoned uploads");
        assertThat(api().get("/imports/" + id).statusCode()).isEqualTo(404);
        assertThat(count("select count(*) from imports where id = '" + id + "'"))
                .isZero();
        assertThat(count("select count(*) from import_orgs where import_id = '" + id + "'"))
                .isZero();
        assertThat(count("select count(*) from users where email = 'retained@x.io'"))
                .as("its users stay")
                .isEqualTo(1);
        assertThat(count("select count(*) from jobrunr_recurring_jobs where id = 'imports-purge'"))
                .isEqualTo(1);
    }

    @Test
    void badUploadsAreRefusedAndLeaveNothingBehind() {
        long imports = count("select count(*) from imports");
        long chunks = count("select count(*) from import_chunks");
        byte[] tooBig = new byte[(int) LIMIT + 1];

        assertThat(upload(new byte[0], "text/csv", null).statusCode()).isEqualTo(400);
        assertThat(upload("email,role,org_id,age\n".getBytes(), "application/json", null)
                        .statusCode())
                .isEqualTo(415);
        // Only the headers: a declared length over the limit is refused before any body is read.
        // (Sending the 16 MB too would race the server closing the connection after its 413.)
        String declared = headersOnly("POST /imports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
                + "Authorization: Bearer " + apiKey + "\r\n"
                + "Content-Length: " + (LIMIT + 1) + "\r\nConnection: close\r\n\r\n");
        assertThat(declared).startsWith("HTTP/1.1 413").contains("{\"code\":413,");
        HttpResponse<String> streamed = api().send(HttpRequest.newBuilder(api().uri("/imports"))
                .header("Content-Type", "text/csv")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(tooBig))));
        assertThat(streamed.statusCode()).as("chunked, no Content-Length").isEqualTo(413);

        assertThat(count("select count(*) from imports")).isEqualTo(imports);
        assertThat(count("select count(*) from import_chunks")).isEqualTo(chunks);
    }

    @Test
    void idempotencyKeyReturnsTheSameImportForTheSameBodyAndRefusesAnother() {
        byte[] body = "email,role,org_id,age\nidem@x.io,admin,2,30\n".getBytes(StandardCharsets.UTF_8);
        long importsBefore = count("select count(*) from imports");

        HttpResponse<String> first = upload(body, "text/csv", "key-1");
        HttpResponse<String> again = upload(body, "text/csv", "key-1");
        HttpResponse<String> other =
                upload("email,role,org_id,age\nother@x.io,admin,2,30\n".getBytes(), "text/csv", "key-1");

        assertThat(first.statusCode()).isEqualTo(202);
        assertThat(again.statusCode()).isEqualTo(202);
        String id = (String) Http.json(first).get("importId");
        assertThat(Http.json(again).get("importId")).isEqualTo(id);
        assertThat(again.body()).isEqualTo(first.body());
        assertThat(again.headers().firstValue("Location"))
                .isEqualTo(first.headers().firstValue("Location"));
        assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(other.statusCode()).isEqualTo(422);
        assertThat(Http.json(other))
                .containsEntry("message", "Idempotency-Key key-1 was already used with a different request body");
        assertThat(count("select count(*) from imports")).isEqualTo(importsBefore + 1);
        assertThat(count("select count(*) from idempotency_keys where scope = 'POST /imports' and key = 'key-1'"))
                .isEqualTo(1);
        assertThat(count("select count(*) from jobrunr_jobs where id = '" + id + "'"))
                .isEqualTo(1);
        assertThat(finished(first)).containsEntry("status", "succeeded");
        assertThat(count("select count(*) from users where email = 'idem@x.io'"))
                .isEqualTo(1);
    }

    @Test
    void aSecondUploadWithTheKeyWhileTheFirstStillStreamsIs409() throws Exception {
        byte[] csv = "email,role,org_id,age\nstreaming@x.io,admin,2,30\n".getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> second;
        String firstAnswer;
        try (java.net.Socket first = new java.net.Socket("127.0.0.1", APP.getLocalPort())) {
            // The first upload: headers and one chunk of its body, the rest held back.
            java.io.OutputStream out = first.getOutputStream();
            out.write(
                    ("POST /imports HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nIdempotency-Key: streaming-key\r\n"
                                    + "Authorization: Bearer " + apiKey + "\r\n"
                                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                    + Integer.toHexString(csv.length)
                                    + "\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            out.write(csv);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // It holds its key once the server is receiving its body.
            awaitSpooled(1, csv.length);

            second = upload(csv, "text/csv", "streaming-key");

            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            firstAnswer = new String(first.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }

        assertThat(second.statusCode()).isEqualTo(409);
        assertThat(firstAnswer).startsWith("HTTP/1.1 202");
        HttpResponse<String> after = upload(csv, "text/csv", "streaming-key");
        assertThat(after.statusCode()).isEqualTo(202);
        assertThat(firstAnswer).endsWith(after.body());
        assertThat(after.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(count("select count(*) from users where email = 'streaming@x.io'"))
                .isLessThanOrEqualTo(1);
    }

    @Test
    void anotherOrganisationsImportIs404AsAMissingOne() {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        long crossTenant = metrics.meter("dev.fortress.auth.refused.imports.cross-tenant");
        Map<String, Object> done = finished(upload("email,role,org_id,age\nmine@x.io,member,2,30\n"));
        String id = (String) done.get("importId");
        Http other = api(TestKeys.of(DB, OTHER_ORG));

        UUID nowhere = UUID.randomUUID();
        HttpResponse<String> theirs = other.get("/imports/" + id);
        HttpResponse<String> missing = other.get("/imports/" + nowhere);

        assertThat(theirs.statusCode()).isEqualTo(404);
        assertThat(Http.json(theirs)).isEqualTo(Map.of("code", 404, "message", "import " + id + " not found"));
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(Http.json(missing)).isEqualTo(Map.of("code", 404, "message", "import " + nowhere + " not found"));
        assertThat(metrics.meter("dev.fortress.auth.refused.imports.cross-tenant"))
                .isEqualTo(crossTenant + 1);
        assertThat(api().get("/imports/" + id).statusCode())
                .as("its own organisation's")
                .isEqualTo(200);
    }

    @Test
    void rowsForAnotherOrganisationAndAdminsFromAKeyWithoutTheAdminScopeAreRejectedPerRowAndNotWritten() {
        Http importOnly = api(TestKeys.of(DB, ORG, "import"));
        String csv = "email,role,org_id,age\n"
                + "scoped-ok1@x.io,member,2,30\n" // line 2
                + "scoped-other@x.io,member,3,30\n" // 3: another organisation
                + "scoped-admin@x.io,admin,2,30\n" // 4: an admin, from a key without the admin scope
                + "scoped-ok2@x.io,viewer,2,30\n"; // 5

        Map<String, Object> status =
                finished(importOnly, upload(importOnly, csv.getBytes(StandardCharsets.UTF_8), "text/csv", null));

        assertThat(status)
                .containsEntry("status", "succeeded")
                .containsEntry("rowsTotal", 4)
                .containsEntry("rowsImported", 2)
                .containsEntry("rowsRejected", 2);
        assertThat(status.get("errors"))
                .isEqualTo(List.of(
                        Map.of(
                                "line",
                                3,
                                "message",
                                "org_id 3 is not the organisation of the key that uploaded this file (2)"),
                        Map.of(
                                "line",
                                4,
                                "message",
                                "role admin needs a file uploaded with a key that has the admin scope")));
        assertThat(count("select count(*) from users where email like 'scoped-%'"))
                .isEqualTo(2);
        assertThat(count("select count(*) from users where email in ('scoped-other@x.io', 'scoped-admin@x.io')"))
                .isZero();
    }

    @Test
    void anUploadWithAKeyWithoutTheImportScopeIs403AndStoresNothing() {
        long imports = count("select count(*) from imports");
        long chunks = count("select count(*) from import_chunks");

        HttpResponse<String> refused = upload(
                api(TestKeys.of(DB, ORG, "read", "write", "admin")),
                "email,role,org_id,age\nno-scope@x.io,member,2,30\n".getBytes(StandardCharsets.UTF_8),
                "text/csv",
                null);

        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(Http.json(refused)).isEqualTo(Map.of("code", 403, "message", "User not authorized."));
        assertThat(count("select count(*) from imports")).isEqualTo(imports);
        assertThat(count("select count(*) from import_chunks")).isEqualTo(chunks);
        assertThat(count("select count(*) from users where email = 'no-scope@x.io'"))
                .isZero();
    }

    @Test
    void dashboardNeedsCredentialsAndShowsTheNamedImportJob() {
        Map<String, Object> done = finished(upload("email,role,org_id,age\ndash@x.io,admin,2,30\n"));
        Http dashboard = new Http("127.0.0.1", DASHBOARD_PORT);
        String auth = "Basic " + Base64.getEncoder().encodeToString("ops:s3cret".getBytes(StandardCharsets.UTF_8));

        assertThat(dashboard.get("/dashboard").statusCode()).isEqualTo(401);
        assertThat(dashboard
                        .send(HttpRequest.newBuilder(dashboard.uri("/dashboard"))
                                .header(
                                        "Authorization",
                                        "Basic " + Base64.getEncoder().encodeToString("ops:wrong".getBytes())))
                        .statusCode())
                .isEqualTo(401);
        assertThat(dashboard
                        .send(HttpRequest.newBuilder(dashboard.uri("/dashboard"))
                                .header("Authorization", auth))
                        .statusCode())
                .isEqualTo(200);
        HttpResponse<String> job =
                dashboard.send(HttpRequest.newBuilder(dashboard.uri("/api/jobs/" + done.get("importId")))
                        .header("Authorization", auth));
        assertThat(job.statusCode()).isEqualTo(200);
        assertThat(Http.json(job)).containsEntry("jobName", "Import " + done.get("importId") + ": 43 B");
        assertThat(job.body()).contains("SUCCEEDED");
    }

    private String headersOnly(String request) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", APP.getLocalPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(ByteArrayOutputStream out, String text) {
        out.writeBytes(text.getBytes(StandardCharsets.UTF_8));
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
