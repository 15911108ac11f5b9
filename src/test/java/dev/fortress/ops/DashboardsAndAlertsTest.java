package dev.fortress.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.fortress.FortressConfiguration;
import dev.fortress.auth.ApiKeyFormat;
import dev.fortress.testing.FortressApp;
import dev.fortress.testing.Http;
import dev.fortress.testing.MixedLoad;
import dev.fortress.testing.PrometheusServer;
import dev.fortress.testing.PrometheusTools;
import dev.fortress.testing.TestDatabase;
import dev.fortress.testing.TestKeys;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The bundled observability, proven on a real Prometheus: promtool accepts the scrape config and
 * the alert rules; a Prometheus built from that config scrapes a running Fortress under a short
 * mixed load; then every expression of every dashboard panel, and the signal of every alert rule,
 * returns data; and every dashboard has a unique uid and uses the provisioned datasource.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class DashboardsAndAlertsTest {

    private static final TestDatabase DB = TestDatabase.create();
    private static final DropwizardAppExtension<FortressConfiguration> APP = FortressApp.on(DB, MixedLoad.UPLOADS);

    private static final Path GRAFANA = Path.of("grafana");
    private static final Path SCRAPE_CONFIG = GRAFANA.resolve("prometheus/prometheus.yml");
    private static final Path ALERTS = GRAFANA.resolve("prometheus/alerts.yml");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @Test
    void promtoolAcceptsTheScrapeConfigAndTheRules() {
        PrometheusTools.Outcome config = PrometheusTools.promtool("", "check", "config", SCRAPE_CONFIG.toString());
        assertThat(config.exitCode()).as(config.output()).isZero();
        PrometheusTools.Outcome rules = PrometheusTools.promtool("", "check", "rules", ALERTS.toString());
        assertThat(rules.exitCode()).as(rules.output()).isZero();
        assertThat(rules.output()).doesNotContain("0 rules found");
    }

    @Test
    void dashboardsHaveUniqueUidsAndUseTheProvisionedDatasource() throws IOException {
        String datasource = provisionedDatasourceUid();
        Set<String> uids = new HashSet<>();
        for (Path file : dashboards()) {
            JsonNode dashboard = JSON.readTree(file.toFile());
            assertThat(uids.add(dashboard.path("uid").asText()))
                    .as("unique uid in " + file)
                    .isTrue();
            for (JsonNode panel : panels(dashboard)) {
                String where =
                        file.getFileName() + " panel \"" + panel.path("title").asText() + "\"";
                if (panel.path("type").asText().equals("row")) {
                    continue;
                }
                assertThat(panel.path("targets")).as(where + " has queries").isNotEmpty();
                assertThat(panel.path("datasource").path("uid").asText())
                        .as(where)
                        .isEqualTo(datasource);
                for (JsonNode target : panel.path("targets")) {
                    assertThat(target.path("datasource").path("uid").asText())
                            .as(where + " target")
                            .isEqualTo(datasource);
                    assertThat(target.path("expr").asText())
                            .as(where + " target expression")
                            .isNotBlank();
                }
            }
        }
        assertThat(uids).hasSize(5);
    }

    @Test
    void everyPanelExpressionAndAlertSignalHasDataOnARealPrometheus() throws Exception {
        try (PrometheusServer prometheus = PrometheusServer.start(scrapeConfigFor(APP.getAdminPort()))) {
            load();
            // A few scrapes of the loaded instance (1 s apart) so that rates over a minute have two points.
            awaitScrapes(prometheus, 8);

            Map<String, String> expressions = new LinkedHashMap<>();
            for (Path file : dashboards()) {
                for (JsonNode panel : panels(JSON.readTree(file.toFile()))) {
                    for (JsonNode target : panel.path("targets")) {
                        expressions.put(
                                file.getFileName() + " / " + panel.path("title").asText() + " / "
                                        + target.path("refId").asText(),
                                grafanaToPromQl(target.path("expr").asText()));
                    }
                }
            }
            for (JsonNode group : YAML.readTree(ALERTS.toFile()).path("groups")) {
                for (JsonNode rule : group.path("rules")) {
                    if (rule.has("alert")) {
                        expressions.put(
                                "alert " + rule.path("alert").asText(),
                                alertSignal(rule.path("expr").asText()));
                    }
                }
            }
            assertThat(expressions).hasSizeGreaterThan(60);

            List<String> empty = new ArrayList<>();
            expressions.forEach((where, expression) -> {
                if (prometheus.query(expression).isEmpty()) {
                    empty.add(where + ": " + expression);
                }
            });
            assertThat(empty).as("expressions without data").isEmpty();

            List<String> unhealthy = new ArrayList<>();
            int rules = 0;
            for (Object group : prometheus.ruleGroups()) {
                for (Object rule : (List<?>) ((Map<?, ?>) group).get("rules")) {
                    Map<?, ?> r = (Map<?, ?>) rule;
                    rules++;
                    if (!"ok".equals(r.get("health"))) {
                        unhealthy.add(r.get("name") + ": " + r.get("health") + " " + r.get("lastError"));
                    }
                }
            }
            assertThat(rules).as("rules loaded by Prometheus").isEqualTo(alertCount());
            assertThat(unhealthy).as("rules Prometheus could not evaluate").isEmpty();
        }
    }

    @Test
    void alertSignalKeepsEverySeriesOfTopLevelComparisonsOnly() {
        assertThat(alertSignal("a{pool!=\"x\"} / b > 0.9")).isEqualTo("a{pool!=\"x\"} / b > bool 0.9");
        assertThat(alertSignal("min_over_time(w[5m]) >= 1 and rate(x[1m]) != 0"))
                .isEqualTo("min_over_time(w[5m]) >= bool 1 and rate(x[1m]) != bool 0");
        assertThat(alertSignal("sum(rate(x[5m]) > 0) == bool 1")).isEqualTo("sum(rate(x[5m]) > 0) == bool 1");
    }

    /** The committed scrape config, pointed at this test's admin port, scraping every second. */
    private static String scrapeConfigFor(int adminPort) throws IOException {
        ObjectNode config = (ObjectNode) YAML.readTree(SCRAPE_CONFIG.toFile());
        ObjectNode global = (ObjectNode) config.path("global");
        global.put("scrape_interval", "1s");
        global.put("evaluation_interval", "1s");
        ArrayNode ruleFiles = config.putArray("rule_files");
        ruleFiles.add(ALERTS.toAbsolutePath().toString());
        JsonNode job = config.path("scrape_configs").get(0);
        assertThat(job.path("metrics_path").asText()).isEqualTo(Prometheus.PATH);
        ArrayNode targets = ((ObjectNode) job.path("static_configs").get(0)).putArray("targets");
        targets.add("127.0.0.1:" + adminPort);
        return YAML.writeValueAsString(config);
    }

    /**
     * The mixed profile as organisation 7, plus the routes it leaves out (org stats, each
     * organisation's with its own key; transaction lists; import status), and refusals: requests
     * with no key, an unknown key and a malformed one (401), a key without the scope (403), and
     * another organisation's stats (404).
     */
    private static void load() throws InterruptedException {
        Http api = new Http("127.0.0.1", APP.getLocalPort());
        Http org7 = api.as(TestKeys.of(DB, 7));
        Map<Integer, Integer> statuses = MixedLoad.run(org7, 7, 1_500);
        assertThat(statuses.keySet()).as(statuses.toString()).isSubsetOf(200, 201, 202, 404);
        for (int org = 1; org <= 20; org++) {
            Http asOrg = api.as(TestKeys.of(DB, org, "read"));
            assertThat(asOrg.get("/orgs/" + org + "/stats").statusCode()).isEqualTo(200);
            assertThat(asOrg.get("/orgs/" + org + "/stats").statusCode()).isEqualTo(200);
        }
        assertThat(org7.get("/transactions?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z&limit=5")
                        .statusCode())
                .isEqualTo(200);
        assertThat(org7.get("/imports/00000000-0000-0000-0000-000000000000").statusCode())
                .isEqualTo(404);

        List<Http> withoutUsableKey =
                List.of(api.anonymous(), api.as(ApiKeyFormat.generate(new SecureRandom())), api.as("fk_not-a-key"));
        for (int i = 0; i < 20; i++) {
            for (Http refused : withoutUsableKey) {
                assertThat(refused.get("/users/1").statusCode()).isEqualTo(401);
                assertThat(refused.get("/transactions/summary?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z")
                                .statusCode())
                        .isEqualTo(401);
            }
        }
        assertThat(api.as(TestKeys.of(DB, 7, "import")).get("/users/1").statusCode())
                .isEqualTo(403);
        assertThat(org7.get("/orgs/8/stats").statusCode()).isEqualTo(404);
    }

    private static void awaitScrapes(PrometheusServer prometheus, int scrapes) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            List<?> result = prometheus.query("count_over_time(up{job=\"fortress\"}[1m])");
            if (!result.isEmpty()) {
                Object value = ((List<?>) ((Map<?, ?>) result.get(0)).get("value")).get(1);
                if (Double.parseDouble(value.toString()) >= scrapes) {
                    List<?> up = prometheus.query("up{job=\"fortress\"} == 1");
                    assertThat(up)
                            .as("Prometheus scrapes Fortress successfully")
                            .hasSize(1);
                    return;
                }
            }
            LockSupport.parkNanos(Duration.ofMillis(500).toNanos());
        }
        throw new AssertionError("Prometheus did not scrape Fortress " + scrapes + " times within a minute");
    }

    /** Grafana's built-in interval variables, as Grafana would fill them for a short range. */
    static String grafanaToPromQl(String expression) {
        return expression
                .replace("$__rate_interval", "1m")
                .replace("${__rate_interval}", "1m")
                .replace("$__interval", "15s")
                .replace("${__interval}", "15s")
                .replace("$__range", "1h");
    }

    /**
     * An alert rule is "signal comparison threshold": its top-level comparisons become {@code bool}
     * comparisons, which keep every series (0 or 1) instead of filtering them, so the result is
     * empty only when the signal itself has no data.
     */
    static String alertSignal(String expression) {
        StringBuilder out = new StringBuilder();
        int depth = 0;
        char quote = 0;
        for (int i = 0; i < expression.length(); i++) {
            char c = expression.charAt(i);
            out.append(c);
            if (quote != 0) {
                if (c == quote && expression.charAt(i - 1) != '\\') {
                    quote = 0;
                }
                continue;
            }
            switch (c) {
                case '"', '\'', '`' -> quote = c;
                case '(', '{', '[' -> depth++;
                case ')', '}', ']' -> depth--;
                case '>', '<', '=', '!' -> {
                    if (depth == 0) {
                        char next = i + 1 < expression.length() ? expression.charAt(i + 1) : ' ';
                        boolean comparison = (c == '>' || c == '<') || next == '=';
                        if (comparison) {
                            if (next == '=') {
                                out.append(next);
                                i++;
                            }
                            if (!expression.substring(i + 1).stripLeading().startsWith("bool")) {
                                out.append(" bool");
                            }
                        }
                    }
                }
                default -> {}
            }
        }
        return out.toString();
    }

    private static int alertCount() throws IOException {
        int count = 0;
        for (JsonNode group : YAML.readTree(ALERTS.toFile()).path("groups")) {
            count += group.path("rules").size();
        }
        return count;
    }

    private static String provisionedDatasourceUid() throws IOException {
        List<String> uids = new ArrayList<>();
        try (Stream<Path> files = Files.list(GRAFANA.resolve("provisioning/datasources"))) {
            for (Path file : files.toList()) {
                for (JsonNode source : YAML.readTree(file.toFile()).path("datasources")) {
                    if (source.path("type").asText().equals("prometheus")) {
                        uids.add(source.path("uid").asText());
                    }
                }
            }
        }
        assertThat(uids).as("provisioned Prometheus datasources").hasSize(1);
        return uids.get(0);
    }

    private static List<Path> dashboards() throws IOException {
        try (Stream<Path> files = Files.list(GRAFANA.resolve("dashboards"))) {
            return files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        }
    }

    /** Every panel, including those inside collapsed rows. */
    private static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> all = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            all.add(panel);
            panel.path("panels").forEach(all::add);
        }
        return all;
    }
}
