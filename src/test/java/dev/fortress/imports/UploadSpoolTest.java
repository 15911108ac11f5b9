package dev.fortress.imports;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fortress.idempotency.IdempotentWrites;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spool on a real file system: what it keeps, what it deletes, and when. */
class UploadSpoolTest {

    @TempDir
    Path root;

    @Test
    void startDeletesWhatAStoppedInstanceLeftAndKeepsARunningOnesDirectory() throws IOException {
        Path dead = Files.createDirectory(root.resolve("spool-dead"));
        Files.writeString(dead.resolve("upload-1.csv"), "email,role,org_id,age\n");
        Files.createFile(root.resolve("spool-dead.lock"));
        Path unrelated = Files.createDirectory(root.resolve("something-else"));
        UploadSpool running = new UploadSpool(root);
        running.start();
        Path runningDir = running.directory();
        Files.writeString(runningDir.resolve("upload-2.csv"), "in progress");

        UploadSpool starting = new UploadSpool(root);
        starting.start();

        assertThat(dead).doesNotExist();
        assertThat(root.resolve("spool-dead.lock")).doesNotExist();
        assertThat(runningDir.resolve("upload-2.csv"))
                .as("a running instance's upload")
                .exists();
        assertThat(unrelated).as("not a spool directory").exists();
        assertThat(starting.directory()).exists().isNotEqualTo(runningDir);

        running.stop();
        starting.stop();
        assertThat(runningDir).doesNotExist();
        assertThat(root.resolve(runningDir.getFileName() + ".lock")).doesNotExist();
    }

    @Test
    void aSpooledUploadIsCountedHashedAndDeletedOnClose() throws IOException {
        UploadSpool spool = new UploadSpool(root);
        spool.start();
        byte[] body = "email,role,org_id,age\nspool@x.io,member,1,30\n".getBytes(StandardCharsets.UTF_8);
        AtomicLong received = new AtomicLong();

        Path file;
        try (UploadSpool.Spooled spooled = spool.write(new ByteArrayInputStream(body), 1024, received::addAndGet)) {
            assertThat(spooled.bytes()).isEqualTo(body.length);
            assertThat(spooled.sha256()).isEqualTo(IdempotentWrites.sha256(body));
            assertThat(spool.bytes()).isEqualTo(body.length);
            try (InputStream in = spooled.open()) {
                assertThat(in.readAllBytes()).isEqualTo(body);
            }
            try (var files = Files.list(spool.directory())) {
                file = files.findFirst().orElseThrow();
            }
        }

        assertThat(file).doesNotExist();
        assertThat(spool.bytes()).isZero();
        assertThat(received).hasValue(body.length);
        spool.stop();
    }

    @Test
    void aBodyOverTheLimitOrBrokenOffLeavesNoFile() throws IOException {
        UploadSpool spool = new UploadSpool(root);
        spool.start();

        assertThatThrownBy(() -> spool.write(new ByteArrayInputStream(new byte[200_000]), 100_000, n -> {}))
                .isInstanceOf(UploadSpool.TooLargeException.class)
                .hasMessage("upload larger than 100000 bytes");
        InputStream breaksOff = new InputStream() {
            private int left = 70_000;

            @Override
            public int read() throws IOException {
                if (left == 0) {
                    throw new IOException("connection reset");
                }
                left--;
                return 'a';
            }
        };
        assertThatThrownBy(() -> spool.write(breaksOff, 1_000_000, n -> {}))
                .isInstanceOf(UploadSpool.BrokeOffException.class);

        try (var files = Files.list(spool.directory())) {
            assertThat(files).isEmpty();
        }
        assertThat(spool.bytes()).isZero();
        spool.stop();
    }
}
