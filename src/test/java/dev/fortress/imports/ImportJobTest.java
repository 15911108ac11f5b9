package dev.fortress.imports;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import dev.fortress.idempotency.IdempotentWrites;
import dev.fortress.testing.Configs;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import jakarta.validation.Validator;
import java.io.ByteArrayInputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.junit.jupiter.api.Test;

/** The import job on a real PostgreSQL, run directly (JobRunr only decides when it runs). */
class ImportJobTest {

    private static final TestDatabase DB = TestDatabase.create();
    /** The organisation of the key that uploads the imports here (unless a test says otherwise). */
    private static final long ORG = 1;

    private static final ImportStatusMapper FORMAT = new ImportStatusMapper(Jackson.newObjectMapper());
    private static final Jdbi JDBI =
            DB.jdbi().installPlugin(new SqlObjectPlugin()).registerRowMapper(FORMAT);

    private static final UploadSpool SPOOL = spool();

    private static UploadSpool spool() {
        try {
            UploadSpool spool = new UploadSpool(java.nio.file.Files.createTempDirectory("import-job-test"));
            spool.start();
            return spool;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private final MetricRegistry registry = new MetricRegistry();
    private final ImportMetrics metrics = new ImportMetrics(registry);
    private final Set<Long> changedOrgs = new HashSet<>();

    /** An upload by a key of {@link #ORG} with the admin scope. */
    private UUID upload(String csv) {
        return upload(csv, ORG, true);
    }

    /** An upload by a key of {@code org}, with the admin scope if {@code admin}. */
    private UUID upload(String csv, long org, boolean admin) {
        ImportUploads.Outcome outcome = new ImportUploads(
                        JDBI,
                        SPOOL,
                        1 << 30,
                        metrics,
                        new IdempotentWrites(JDBI, Jackson.newObjectMapper(), 86_400, registry))
                .store(new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)), null, org, admin);
        return ((ImportUploads.Created) outcome).id();
    }

    private ImportJob job(Validator validator, int batchRows) {
        ImportsConfiguration config = Configs.load().getImports();
        config.setBatchRows(batchRows);
        return new ImportJob(JDBI, validator, config, metrics, FORMAT, changedOrgs::addAll);
    }

    private static ImportStatus status(UUID id) {
        return JDBI.onDemand(ImportDao.class).status(id, ORG).orElseThrow();
    }

    private static long users(String emailPrefix) {
        return JDBI.withHandle(h -> h.select("select count(*) from users where email like :p || '%'")
                .bind("p", emailPrefix)
                .mapTo(Long.class)
                .one());
    }

    private static String rows(String prefix, int count, long org) {
        StringBuilder csv = new StringBuilder();
        for (int i = 0; i < count; i++) {
            csv.append(prefix)
                    .append(i)
                    .append("@x.io,member,")
                    .append(org)
                    .append(',')
                    .append(20 + i % 50)
                    .append('\n');
        }
        return csv.toString();
    }

    @Test
    void importsValidRowsAndRejectsBadOnesAndDuplicatesByLine() {
        JDBI.useHandle(
                h -> h.execute("insert into users (email, role, org_id, age) values ('Taken@x.io', 'admin', 1, 30)"));
        String csv = "email,role,org_id,age\r\n"
                + "ok1@x.io,admin,1,30\r\n" // line 2
                + "\"ok2@x.io\",\"member\",1,31\r\n" // 3: quoted
                + "bad-email,member,1,30\r\n" // 4
                + "taken@X.io,member,1,30\r\n" // 5: exists in users (any case)
                + "OK1@x.io,viewer,1,30\r\n" // 6: earlier in this file
                + "ok3@x.io,viewer,1\r\n"; // 7: 3 columns
        UUID id = upload(csv);

        job(Validators.newValidator(), 50_000).run(new ImportJob.Request(id));

        ImportStatus status = status(id);
        assertThat(status.status()).isEqualTo("succeeded");
        assertThat(status.rowsTotal()).isEqualTo(6);
        assertThat(status.rowsImported()).isEqualTo(2);
        assertThat(status.rowsRejected()).isEqualTo(4);
        assertThat(status.errors()).extracting(ImportStatus.RowError::line).containsExactly(4L, 5L, 6L, 7L);
        assertThat(status.errors().get(0).message()).isEqualTo("email must be a well-formed email address");
        assertThat(status.errors().get(1).message())
                .isEqualTo("email taken@X.io already exists (in the organisation or earlier in this file)");
        assertThat(users("ok")).isEqualTo(2);
        assertThat(changedOrgs).containsExactly(ORG);
        Long chunks = JDBI.withHandle(h -> h.select("select count(*) from import_chunks where import_id = :id")
                .bind("id", id)
                .mapTo(Long.class)
                .one());
        assertThat(chunks).as("chunks freed").isZero();
    }

    @Test
    void anEmailTakenInAnotherOrganisationIsImportedAsANewUserOfThisOne() {
        JDBI.useHandle(h ->
                h.execute("insert into users (email, role, org_id, age) values ('Elsewhere@x.io', 'member', 2, 30), "
                        + "('InOrg@x.io', 'member', 1, 30)"));
        // Line 3 is taken in this organisation: the batch takes the slow path, which names the refused lines.
        UUID id = upload("email,role,org_id,age\nelsewhere@X.io,member,1,30\ninorg@x.io,member,1,31\n"
                + "elsewhere-too@x.io,member,1,31\n");

        job(Validators.newValidator(), 50_000).run(new ImportJob.Request(id));

        ImportStatus status = status(id);
        assertThat(status.rowsImported())
                .as("nothing says the email exists in organisation 2")
                .isEqualTo(2);
        assertThat(status.errors()).extracting(ImportStatus.RowError::line).containsExactly(3L);
        long copies = JDBI.withHandle(h -> h.select("select count(*) from users where lower(email) = 'elsewhere@x.io'")
                .mapTo(Long.class)
                .one());
        assertThat(copies).isEqualTo(2);
    }

    @Test
    void rowsForAnotherOrganisationAndAdminsFromAKeyWithoutTheAdminScopeAreRejectedByLineAndNotWritten() {
        String csv = "email,role,org_id,age\n"
                + "tenant-ok1@x.io,member,1,30\n" // line 2
                + "tenant-other@x.io,member,2,30\n" // 3: another organisation
                + "tenant-admin@x.io,admin,1,30\n" // 4: an admin, from a key without the admin scope
                + "tenant-both@x.io,admin,3,30\n" // 5: both: the organisation is named first
                + "tenant-ok2@x.io,viewer,1,30\n"; // 6
        UUID id = upload(csv, ORG, false);

        job(Validators.newValidator(), 50_000).run(new ImportJob.Request(id));

        ImportStatus status = status(id);
        assertThat(status.status()).isEqualTo("succeeded");
        assertThat(status.rowsImported()).isEqualTo(2);
        assertThat(status.rowsRejected()).isEqualTo(3);
        assertThat(status.errors())
                .containsExactly(
                        new ImportStatus.RowError(
                                3, "org_id 2 is not the organisation of the key that uploaded this file (1)"),
                        new ImportStatus.RowError(
                                4, "role admin needs a file uploaded with a key that has the admin scope"),
                        new ImportStatus.RowError(
                                5, "org_id 3 is not the organisation of the key that uploaded this file (1)"));
        assertThat(users("tenant-")).isEqualTo(2);
        long foreignOrAdmin = JDBI.withHandle(h -> h.select("select count(*) from users where email like 'tenant-%' "
                        + "and (org_id <> 1 or role = 'admin')")
                .mapTo(Long.class)
                .one());
        assertThat(foreignOrAdmin).isZero();
        assertThat(changedOrgs).containsExactly(ORG);
    }

    @Test
    void anImportStoredBeforeApiKeysFinishesUnderTheRulesItWasAcceptedWith() {
        UUID id = upload("email,role,org_id,age\nlegacy1@x.io,admin,41,30\nlegacy2@x.io,member,42,30\n", ORG, false);
        // As changeset 9 leaves an import accepted before it: no organisation, no admin scope recorded.
        JDBI.useHandle(h -> h.execute("update imports set org_id = null where id = ?", id));

        job(Validators.newValidator(), 50_000).run(new ImportJob.Request(id));

        ImportDao.Stored stored = JDBI.onDemand(ImportDao.class).find(id).orElseThrow();
        assertThat(stored.status()).isEqualTo(ImportState.SUCCEEDED);
        assertThat(stored.errorCount()).isZero();
        assertThat(users("legacy")).isEqualTo(2);
        assertThat(changedOrgs).containsExactlyInAnyOrder(41L, 42L);
        assertThat(JDBI.onDemand(ImportDao.class).status(id, ORG))
                .as("no organisation's import")
                .isEmpty();
    }

    @Test
    void wrongHeaderFailsTheImportWithAReasonAndWritesNoRows() {
        UUID id = upload("mail,role,org_id,age\nhdr@x.io,admin,1,30\n");

        job(Validators.newValidator(), 50_000).run(new ImportJob.Request(id));

        ImportStatus status = status(id);
        assertThat(status.status()).isEqualTo("failed");
        assertThat(status.reason())
                .isEqualTo("header must be exactly email,role,org_id,age (found: mail,role,org_id,age)");
        assertThat(users("hdr@")).isZero();
        assertThat(chunks(id)).as("a failed import's upload is freed").isZero();
        assertThat(registry.meter("dev.fortress.imports.failed").getCount()).isEqualTo(1);
    }

    private static long chunks(UUID id) {
        return JDBI.withHandle(h -> h.select("select count(*) from import_chunks where import_id = :id")
                .bind("id", id)
                .mapTo(Long.class)
                .one());
    }

    @Test
    void eachBatchRecordsOnlyItsOwnOrganisationsOneRowEach() {
        // Stored before API keys (no organisation): rows may name any organisation. Three batches of
        // 100, each naming the same three organisations, the last also a fourth.
        StringBuilder csv = new StringBuilder("email,role,org_id,age\n");
        for (int i = 0; i < 300; i++) {
            csv.append("fan")
                    .append(i)
                    .append("@x.io,member,")
                    .append(51 + i % 3)
                    .append(",30\n");
        }
        csv.append("fan-last@x.io,member,54,30\n");
        UUID id = upload(csv.toString(), ORG, false);
        JDBI.useHandle(h -> h.execute("update imports set org_id = null where id = ?", id));

        job(Validators.newValidator(), 100).run(new ImportJob.Request(id));

        List<Long> recorded =
                JDBI.withHandle(h -> h.select("select org_id from import_orgs where import_id = ? order by org_id", id)
                        .mapTo(Long.class)
                        .list());
        assertThat(recorded).containsExactly(51L, 52L, 53L, 54L);
        assertThat(changedOrgs).containsExactlyInAnyOrder(51L, 52L, 53L, 54L);
        assertThat(users("fan")).isEqualTo(301);
    }

    @Test
    void thePurgeDeletesFinishedImportsPastTheRetentionAndAbandonedUploadsOnly() {
        UUID old = upload("email,role,org_id,age\npurge-old@x.io,member,1,30\n");
        job(Validators.newValidator(), 50_000).run(new ImportJob.Request(old));
        UUID recent = upload("email,role,org_id,age\npurge-recent@x.io,member,1,30\n");
        job(Validators.newValidator(), 50_000).run(new ImportJob.Request(recent));
        UUID queued = upload("email,role,org_id,age\npurge-queued@x.io,member,1,30\n");
        UUID abandoned = UUID.randomUUID();
        UUID uploading = UUID.randomUUID();
        JDBI.useHandle(h -> {
            ImportDao dao = h.attach(ImportDao.class);
            dao.create(abandoned, ORG, false);
            dao.addChunk(abandoned, 0, new byte[] {'a'});
            dao.create(uploading, ORG, false);
            dao.addChunk(uploading, 0, new byte[] {'b'});
            h.execute("update imports set finished_at = now() - interval '8 days' where id = ?", old);
            h.execute(
                    "update imports set created_at = now() - interval '2 hours' where id in (?, ?)", abandoned, queued);
        });
        com.codahale.metrics.Meter purged = registry.meter("dev.fortress.imports.purged");

        ImportPurge.Purged done = new ImportPurge(
                        JDBI,
                        java.time.Duration.ofDays(7).toSeconds(),
                        java.time.Duration.ofHours(1).toSeconds(),
                        purged)
                .purge();

        assertThat(done).isEqualTo(new ImportPurge.Purged(1, 1));
        List<UUID> left = JDBI.withHandle(h -> h.select(
                        "select id from imports where id in (?, ?, ?, ?, ?)", old, recent, queued, abandoned, uploading)
                .mapTo(UUID.class)
                .list());
        assertThat(left).containsExactlyInAnyOrder(recent, queued, uploading);
        assertThat(chunks(abandoned)).isZero();
        assertThat(chunks(uploading)).as("an upload still being stored").isEqualTo(1);
        long orgsLeft = JDBI.withHandle(h -> h.select("select count(*) from import_orgs where import_id = ?", old)
                .mapTo(Long.class)
                .one());
        assertThat(orgsLeft).isZero();
        assertThat(users("purge-old")).as("its rows stay: they are users now").isEqualTo(1);
        assertThat(purged.getCount()).isEqualTo(2);
    }

    @Test
    void runningTheSameImportTwiceImportsEachRowOnce() {
        UUID id = upload("email,role,org_id,age\n" + rows("twice", 500, ORG));

        job(Validators.newValidator(), 100).run(new ImportJob.Request(id));
        job(Validators.newValidator(), 100).run(new ImportJob.Request(id));

        assertThat(users("twice")).isEqualTo(500);
        assertThat(status(id).rowsImported()).isEqualTo(500);
        assertThat(status(id).rowsTotal()).isEqualTo(500);
    }

    @Test
    void aRunThatDiesMidwayIsResumedWithoutDuplicatesOrLostRows() {
        // '!' is valid in an address but outside the fast check, so every row meets the Validator.
        UUID id = upload("email,role,org_id,age\n" + rows("crash!", 1000, ORG) + "crash!0@x.io,member,1,20\n");
        AtomicInteger validations = new AtomicInteger();
        Validator real = Validators.newValidator();
        // The worker "dies" on the 550th row: batches of 100 before it are committed, the rest is not.
        Validator dying = (Validator) Proxy.newProxyInstance(
                Validator.class.getClassLoader(), new Class<?>[] {Validator.class}, (proxy, method, args) -> {
                    if (method.getName().equals("validate") && validations.incrementAndGet() == 550) {
                        throw new IllegalStateException("worker killed");
                    }
                    return method.invoke(real, args);
                });

        assertThatThrownBy(() -> job(dying, 100).run(new ImportJob.Request(id))).hasMessage("worker killed");
        assertThat(status(id).status()).isEqualTo("processing");
        assertThat(status(id).rowsImported()).isEqualTo(500);
        assertThat(users("crash")).isEqualTo(500);

        job(real, 100).run(new ImportJob.Request(id));

        ImportStatus status = status(id);
        assertThat(status.status()).isEqualTo("succeeded");
        assertThat(status.rowsImported()).isEqualTo(1000);
        assertThat(status.rowsRejected()).isEqualTo(1);
        assertThat(status.errors()).extracting(ImportStatus.RowError::line).containsExactly(1002L);
        assertThat(users("crash")).isEqualTo(1000);
    }

    @Test
    void keepsTheFirstHundredErrorsButCountsAll() {
        StringBuilder csv = new StringBuilder("email,role,org_id,age\n");
        for (int i = 0; i < 250; i++) {
            csv.append("many")
                    .append(i)
                    .append("@x.io,member,1,")
                    .append(i % 2 == 0 ? "200" : "30")
                    .append('\n');
        }
        UUID id = upload(csv.toString());

        job(Validators.newValidator(), 100).run(new ImportJob.Request(id));

        ImportStatus status = status(id);
        assertThat(status.rowsRejected()).isEqualTo(125);
        assertThat(status.rowsImported()).isEqualTo(125);
        assertThat(status.errors()).hasSize(ImportJob.MAX_ERRORS);
        assertThat(status.errors().get(0).line()).isEqualTo(2);
        assertThat(status.errors().get(99).line()).isEqualTo(200);
        assertThat(registry.meter("dev.fortress.imports.rows-rejected").getCount())
                .isEqualTo(125);
    }

    @Test
    void everyStatementOfAnImportIsTimedUnderItsNameNoneAsRaw() {
        MetricRegistry timed = new MetricRegistry();
        Jdbi writer = Databases.configure(DB.jdbi(), new StatementMetrics(timed, "writer", Duration.ofHours(1)));
        JDBI.useHandle(
                h -> h.execute("insert into users (email, role, org_id, age) values ('named1@x.io', 'admin', 1, 30)"));
        // The first batch meets a taken email (the slow path), the second does not (the fast path).
        UUID id = upload(
                "email,role,org_id,age\nnamed0@x.io,member,1,30\nnamed1@x.io,member,1,30\n" + rows("named-", 150, ORG));
        ImportsConfiguration config = Configs.load().getImports();
        config.setBatchRows(100);

        new ImportJob(writer, Validators.newValidator(), config, metrics, FORMAT, changedOrgs::addAll)
                .run(new ImportJob.Request(id));

        assertThat(status(id).rowsImported()).isEqualTo(151);
        String prefix = "dev.fortress.db.writer.";
        assertThat(timed.getTimers().keySet())
                .noneMatch(name -> name.endsWith("sql.raw"))
                .containsExactlyInAnyOrder(
                        prefix + "ImportDao.find",
                        prefix + "ImportDao.processing",
                        prefix + "ImportDao.chunk",
                        prefix + "ImportDao.advance",
                        prefix + "ImportDao.touched",
                        prefix + "ImportDao.finish",
                        prefix + "ImportDao.deleteChunks",
                        prefix + "ImportBatchDao.savepoint",
                        prefix + "ImportBatchDao.copyUsers",
                        prefix + "ImportBatchDao.releaseSavepoint",
                        prefix + "ImportBatchDao.rollbackToSavepoint",
                        prefix + "ImportBatchDao.createStage",
                        prefix + "ImportBatchDao.copyStage",
                        prefix + "ImportBatchDao.insertStaged",
                        prefix + "ImportBatchDao.refused",
                        prefix + "StatementTimeoutDao.setLocal");
    }
}
