package dev.fortress;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.FortressApp;
import dev.fortress.testing.TestDatabase;
import io.dropwizard.core.cli.Cli;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.util.JarLocation;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code seed config.yml --users N --orgs M}, run through the same CLI as the jar. */
class SeedCommandTest {

    private static final TestDatabase DB = TestDatabase.create();

    @AfterEach
    void clearOverrides() {
        System.clearProperty("dw.writerDatabase.url");
        System.clearProperty("dw.writerDatabase.user");
        System.clearProperty("dw.writerDatabase.password");
    }

    @Test
    void seedCommandAddsUsersOverOrgsAndTransactionsOverTheLastYear() {
        // Dropwizard reads dw.* system properties as config overrides, like ConfigOverride does.
        System.setProperty("dw.writerDatabase.url", DB.url());
        System.setProperty("dw.writerDatabase.user", DB.user());
        System.setProperty("dw.writerDatabase.password", DB.password());
        FortressApplication app = new FortressApplication();
        Bootstrap<FortressConfiguration> bootstrap = new Bootstrap<>(app);
        app.initialize(bootstrap);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        Optional<Throwable> failure = new Cli(new JarLocation(FortressApplication.class), bootstrap, out, err)
                .run("seed", FortressApp.configPath(), "--users", "2500", "--orgs", "25", "--transactions", "5000");

        assertThat(failure).as(err.toString(StandardCharsets.UTF_8)).isEmpty();
        java.util.Map<String, Object> seeded = DB.jdbi()
                .withHandle(h -> h.createQuery("select count(*) as users, count(distinct org_id) as orgs from users")
                        .mapToMap()
                        .one());
        assertThat(seeded).containsEntry("users", 2500L).containsEntry("orgs", 25L);
        java.util.Map<String, Object> transactions =
                DB.jdbi().withHandle(h -> h.createQuery("""
                select count(*) as rows, count(distinct date_trunc('month', created_at)) >= 12 as spread,
                       bool_and(created_at > now() - interval '366 days' and created_at <= now()) as last_year
                from transactions""").mapToMap().one());
        assertThat(transactions)
                .containsEntry("rows", 5000L)
                .containsEntry("spread", true)
                .containsEntry("last_year", true);
    }
}
