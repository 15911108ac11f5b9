package dev.fortress.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A keyed write whose statement fails for want of the primary is run once more by the server
 * (IdempotentWrites), as a switchover leaves the writer pool holding connections to a server that is
 * gone. The writer is reached through a proxy that drops its open connections; the pool checks a
 * connection only after an hour, so the next write meets a dropped one on its statement (after that
 * failure the pool checks every borrow for 30 s: one drop per application).
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class KeyedWriteRetryTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TcpProxy WRITER = new TcpProxy(DB.host(), DB.port());
    private static final DropwizardAppExtension<FortressConfiguration> APP =
            FortressApp.on(DB, WRITER.jdbcUrl(DB.name()), DB.url(), RetryTests.writerMeetsTheChangeOnAWrite());
    private static final String KEY = TestKeys.of(DB, 9);
    private static final AtomicInteger EMAILS = new AtomicInteger();

    @AfterEach
    void restore() {
        WRITER.restore();
    }

    @Test
    void aKeyedWriteOnAConnectionTheServerDroppedIsAnsweredOnceWithOneRow() {
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        assertThat(RetryTests.postUser(APP, KEY, "before-" + EMAILS.incrementAndGet(), "k-before")
                        .statusCode())
                .as("a keyed write before the drop")
                .isEqualTo(201);
        long retried = metrics.meter(RetryTests.RETRIED);

        WRITER.cut();
        WRITER.restore();
        String email = "after-" + EMAILS.incrementAndGet();
        HttpResponse<String> created = RetryTests.postUser(APP, KEY, email, "k-after");

        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(created.headers().firstValue(IdempotentWrites.REPLAYED_HEADER))
                .as("written by the second run, not replayed")
                .isEmpty();
        assertThat(metrics.meter(RetryTests.RETRIED))
                .as("keyed statements run again")
                .isEqualTo(retried + 1);
        assertThat(RetryTests.usersWithEmail(DB, email))
                .as("rows with its email")
                .isEqualTo(1L);
        HttpResponse<String> again = RetryTests.postUser(APP, KEY, email, "k-after");
        assertThat(again.headers().firstValue(IdempotentWrites.REPLAYED_HEADER))
                .as("the key stored with the row")
                .contains("true");
    }
}
