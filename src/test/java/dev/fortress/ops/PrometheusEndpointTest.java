package dev.fortress.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.FortressConfiguration;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.PrometheusTools;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code GET :8081/prometheus} as Prometheus reads it: Prometheus's own parser (promtool) accepts
 * it with no lint, no family appears twice, every family docs/metrics.md documents is there, and
 * the labelled families move with the requests that feed them.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PrometheusEndpointTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB);

    private static final Pattern TYPE = Pattern.compile("# TYPE (\\S+) (\\S+)");
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*})? (\\S+)");
    private static final Pattern DOCUMENTED = Pattern.compile("`((?:fortress|jvm|process)_[a-z0-9_]+)`");

    @Test
    void prometheusParsesTheScrapeWithoutLintOrDuplicateFamilies() {
        HttpResponse<String> scrape = admin().get(Prometheus.PATH);
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain; version=0.0.4"));

        PrometheusTools.Outcome check = PrometheusTools.checkMetrics(scrape.body());
        assertThat(check.output()).as("promtool check metrics").isEmpty();
        assertThat(check.exitCode()).isZero();

        List<String> families = new ArrayList<>();
        for (String line : scrape.body().split("\n")) {
            Matcher type = TYPE.matcher(line);
            if (type.matches()) {
                families.add(type.group(1));
            }
        }
        assertThat(families).as("# TYPE lines").doesNotHaveDuplicates().hasSizeGreaterThan(100);
    }

    @Test
    void everyDocumentedFamilyIsExported() throws IOException {
        Set<String> documented = new TreeSet<>();
        Matcher m = DOCUMENTED.matcher(Files.readString(Path.of("docs/metrics.md")));
        while (m.find()) {
            documented.add(m.group(1));
        }
        assertThat(documented).as("families named in docs/metrics.md").hasSizeGreaterThan(50);

        // fortress_db_writer_primary has a series once the writer's check has run (it names the server):
        // /healthcheck runs every check now rather than on their schedule.
        admin().get("/healthcheck");
        Set<String> exported = samples(admin().get(Prometheus.PATH).body()).keySet().stream()
                .map(s -> s.substring(0, s.indexOf('{') < 0 ? s.length() : s.indexOf('{')))
                .collect(java.util.stream.Collectors.toSet());
        Set<String> missing = new TreeSet<>(documented);
        missing.removeIf(name -> exported.contains(name) || exported.contains(name + "_count"));
        assertThat(missing).as("documented but not exported").isEmpty();
    }

    @Test
    void poolsAreOneLabelledFamilyWithTheirConfiguredMax() {
        Map<String, Double> samples = samples(admin().get(Prometheus.PATH).body());

        assertThat(samples)
                .containsEntry("fortress_db_pool_max{pool=\"writer\"}", 10.0)
                .containsEntry("fortress_db_pool_max{pool=\"reader\"}", 20.0)
                .containsKeys(
                        "fortress_db_pool_active{pool=\"writer\"}",
                        "fortress_db_pool_active{pool=\"reader\"}",
                        "fortress_db_pool_waiting{pool=\"writer\"}",
                        "fortress_db_pool_waiting{pool=\"reader\"}",
                        "fortress_db_pool_wait_seconds_count{pool=\"reader\"}",
                        "fortress_db_slow_statements_total{pool=\"writer\"}",
                        "fortress_health_healthy{check=\"writer\"}",
                        "fortress_health_healthy{check=\"jobrunr\"}",
                        "fortress_jobs_in_state{state=\"failed\"}",
                        "fortress_jobs_background_servers",
                        "jvm_memory_bytes_used{area=\"heap\"}",
                        "process_cpu_seconds_total");
    }

    @Test
    void routeStatementAndPoolFamiliesMoveWithRequests() {
        Map<String, Double> before = samples(admin().get(Prometheus.PATH).body());
        Http api = new Http("127.0.0.1", APP.getLocalPort()).as(TestKeys.of(DB, 1));
        for (int i = 0; i < 5; i++) {
            assertThat(api.get("/users/" + (1_000_000 + i)).statusCode()).isEqualTo(404);
        }
        assertThat(api.get("/users/not-a-number").statusCode()).isEqualTo(404);
        Map<String, Double> after = samples(admin().get(Prometheus.PATH).body());

        String route = "{resource=\"users\",operation=\"get\"";
        // The non-numeric id is a request to the route too (its parameter fails, 404), but runs no statement.
        assertThat(delta(before, after, "fortress_http_responses_total" + route + ",status=\"4xx\"}"))
                .isEqualTo(6);
        assertThat(delta(before, after, "fortress_http_request_duration_seconds_count" + route + "}"))
                .isEqualTo(6);
        assertThat(
                        delta(
                                before,
                                after,
                                "fortress_db_statement_duration_seconds_count{pool=\"reader\",statement=\"UserReadDao.findById\"}"))
                .isEqualTo(5);
        assertThat(delta(before, after, "fortress_db_pool_wait_seconds_count{pool=\"reader\"}"))
                .isGreaterThanOrEqualTo(5);
        assertThat(delta(before, after, "fortress_http_server_responses_total{status=\"4xx\"}"))
                .isEqualTo(6);
        assertThat(after).containsKey("fortress_http_request_duration_seconds" + route + ",quantile=\"0.99\"}");
    }

    @Test
    void refusalsAreOneFamilyLabelledByRouteFamilyAndReasonAndNeverByKey() {
        Map<String, Double> before = samples(admin().get(Prometheus.PATH).body());
        for (String family : List.of("users", "orgs", "transactions", "imports")) {
            for (String reason : List.of("unauthenticated", "forbidden", "cross-tenant")) {
                assertThat(before).as("every series exists from start-up").containsKey(refused(family, reason));
            }
        }
        Http api = new Http("127.0.0.1", APP.getLocalPort());
        String importOnly = TestKeys.of(DB, 3, "import");
        String otherOrg = TestKeys.of(DB, 4);

        assertThat(api.anonymous().get("/users/1").statusCode()).isEqualTo(401);
        assertThat(api.as(importOnly)
                        .get("/transactions/summary?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z")
                        .statusCode())
                .isEqualTo(403);
        assertThat(api.as(otherOrg).get("/orgs/3/stats").statusCode()).isEqualTo(404);
        String scrape = admin().get(Prometheus.PATH).body();
        Map<String, Double> after = samples(scrape);

        assertThat(delta(before, after, refused("users", "unauthenticated"))).isEqualTo(1);
        assertThat(delta(before, after, refused("transactions", "forbidden"))).isEqualTo(1);
        assertThat(delta(before, after, refused("orgs", "cross-tenant"))).isEqualTo(1);
        assertThat(delta(before, after, refused("imports", "unauthenticated"))).isZero();
        assertThat(scrape)
                .as("no key appears in the scrape")
                .doesNotContain(importOnly.substring(0, 11))
                .doesNotContain(otherOrg.substring(0, 11));
        // dropwizard-auth's cache of looked-up keys, under the bridge's default names.
        assertThat(after)
                .containsKeys(
                        "fortress_auth_key_cache_hits",
                        "fortress_auth_key_cache_misses",
                        "fortress_auth_key_cache_loads_failure_seconds_count");
    }

    private static String refused(String family, String reason) {
        return "fortress_auth_refused_total{family=\"" + family + "\",reason=\"" + reason + "\"}";
    }

    private static double delta(Map<String, Double> before, Map<String, Double> after, String sample) {
        assertThat(after).as("exported samples").containsKey(sample);
        return after.get(sample) - before.getOrDefault(sample, 0.0);
    }

    /** Sample (name and labels, as written, the trailing comma of the 0.16 writer dropped) to value. */
    static Map<String, Double> samples(String scrape) {
        Map<String, Double> samples = new HashMap<>();
        for (String line : scrape.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!line.startsWith("#") && m.matches()) {
                String labels = m.group(2) == null ? "" : m.group(2).replace(",}", "}");
                samples.put(m.group(1) + labels, Double.parseDouble(m.group(3)));
            }
        }
        return samples;
    }

    private static Http admin() {
        return new Http("127.0.0.1", APP.getAdminPort());
    }
}
