package dev.fortress.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.fortress.FortressApplication;
import dev.fortress.FortressConfiguration;
import dev.fortress.db.RateLimitedLog;
import dev.fortress.testing.AdminMetrics;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.TcpProxy;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/**
 * During a database outage every request is a 503: the meters count each one, while
 * DatabaseExceptionMapper's log says it once per cause per interval and carries the count of the
 * rest, so the lines and their counts add up to the 503s. Both mappers answer here (Jersey's for
 * POST /users, DirectGetFilter's for GET /users/{id}) and share the one count per cause, whether the
 * request failed at its API key's look-up or at its route's statements.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class OutageLogTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final TcpProxy WRITER = new TcpProxy(DB.host(), DB.port());
    private static final TcpProxy READER = new TcpProxy(DB.host(), DB.port());
    /**
     * A key is trusted 100 ms, not config.yml's seconds, so that during the outage most requests meet
     * it at their key's look-up, the others at their route's statements: 503s alike, counted and
     * logged alike.
     */
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(
            DB, WRITER.jdbcUrl(DB.name()), READER.jdbcUrl(DB.name()), ConfigOverride.config("auth.cacheFor", "100ms"));

    private static final int CLIENTS = 4;
    private static final int REQUESTS_PER_CLIENT = 200;
    private static final String CREATE_5XX = "dev.fortress.users.UsersResource.create.5xx-responses";
    private static final String GET_5XX = "dev.fortress.users.UsersResource.get.5xx-responses";
    /** The key cache's look-ups that gave no key (its failed loads): for a valid key, those that threw. */
    private static final String KEY_LOOKUP_FAILED = "dev.fortress.auth.key-cache.loads-failure";

    private static final Pattern CARRIED = Pattern.compile("\\((\\d+) similar suppressed in the last 10s\\)$");

    private static final AtomicInteger EMAILS = new AtomicInteger();
    /** The organisation of the key, and of every user written. */
    private static final long ORG = 9;

    private final Logger logger = (Logger) LoggerFactory.getLogger(DatabaseExceptionMapper.class);
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();

    @BeforeEach
    void capture() {
        log.start();
        logger.addAppender(log);
    }

    @AfterEach
    void restore() {
        logger.detachAppender(log);
        WRITER.restore();
        READER.restore();
    }

    /** The mapper's limited log: the application's, per logger. */
    private RateLimitedLog unavailableLog() {
        return APP.<FortressApplication>getApplication().logs().warn(logger);
    }

    @Test
    void manyRequestsDuringAnOutageGiveAFewLogLinesWhileTheMetersCountEvery503() throws Exception {
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, ORG));
        AdminMetrics metrics = new AdminMetrics(APP.getAdminPort());
        HttpResponse<String> created = post(api);
        assertThat(created.statusCode()).isEqualTo(201);
        long userId = Long.parseLong(created.body().replaceAll(".*\"id\":(\\d+).*", "$1"));
        long create5xxBefore = metrics.meter(CREATE_5XX);
        long get5xxBefore = metrics.meter(GET_5XX);
        // Repeats this application counted before the outage and has not reported yet: lines may carry them.
        long unreportedBefore = unavailableLog().unreported();
        long keyLookupsFailedBefore = metrics.timerCount(KEY_LOOKUP_FAILED);

        WRITER.cut();
        READER.cut();
        Thread.sleep(200); // past auth.cacheFor: the key is looked up again, in the outage
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        List<Future<List<Integer>>> answers = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            answers.add(clients.submit(() -> {
                List<Integer> statuses = new ArrayList<>();
                for (int i = 0; i < REQUESTS_PER_CLIENT; i++) {
                    statuses.add((i % 2 == 0 ? post(api) : api.get("/users/" + userId)).statusCode());
                }
                return statuses;
            }));
        }
        List<Integer> statuses = new ArrayList<>();
        for (Future<List<Integer>> answer : answers) {
            statuses.addAll(answer.get());
        }
        clients.shutdown();
        long unreportedAfter = unavailableLog().unreported();
        List<ILoggingEvent> lines = List.copyOf(log.list);

        int requests = CLIENTS * REQUESTS_PER_CLIENT;
        assertThat(statuses).as("every request answered 503").hasSize(requests).containsOnly(503);
        assertThat(metrics.meter(CREATE_5XX) - create5xxBefore).isEqualTo(requests / 2);
        assertThat(metrics.meter(GET_5XX) - get5xxBefore).isEqualTo(requests / 2);
        assertThat(metrics.timerCount(KEY_LOOKUP_FAILED) - keyLookupsFailedBefore)
                .as("requests that failed at their key's look-up")
                .isPositive();

        assertThat(lines).as("all at WARN").allMatch(e -> e.getLevel() == Level.WARN);
        List<String> messages =
                lines.stream().map(ILoggingEvent::getFormattedMessage).toList();
        // One line per cause (a refused connection, a dropped one) per 10 s interval: the 800 503s of a
        // refused database come in a second or two here, and would need minutes to reach this bound.
        assertThat(messages)
                .as("a few lines, not one per 503")
                .hasSizeLessThanOrEqualTo(requests / 50)
                .allMatch(m -> m.startsWith("database unavailable ["));
        long occurrences = messages.stream().filter(m -> m.contains("]: ")).count(); // summaries are "<key> (N ...)"
        long carried = messages.stream()
                .map(CARRIED::matcher)
                .filter(Matcher::find)
                .mapToLong(m -> Long.parseLong(m.group(1)))
                .sum();
        assertThat(occurrences + carried + (unreportedAfter - unreportedBefore))
                .as("every 503 is a line, or counted in one, or counted for the next: %s", messages)
                .isEqualTo(requests);
    }

    private static HttpResponse<String> post(Http api) {
        return api.postJson(
                "/users",
                "{\"email\":\"log" + EMAILS.incrementAndGet() + "@x.io\",\"role\":\"member\"," + "\"orgId\":" + ORG
                        + ",\"age\":33}");
    }
}
