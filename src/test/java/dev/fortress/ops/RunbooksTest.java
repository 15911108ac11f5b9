package dev.fortress.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every alert rule in grafana/prometheus/alerts.yml links to a runbook section that exists:
 * {@code runbook_url} is {@code docs/runbooks.md#<anchor>}, and docs/runbooks.md has a heading
 * whose GitHub anchor is that one. Paths are relative to the project root (surefire's working
 * directory); no application is started.
 */
class RunbooksTest {

    private static final Path ALERTS = Path.of("grafana/prometheus/alerts.yml");
    private static final Path RUNBOOKS = Path.of("docs/runbooks.md");
    private static final Pattern RUNBOOK_URL = Pattern.compile("docs/runbooks\\.md#([a-z0-9_-]+)");
    private static final Pattern HEADING = Pattern.compile("^ {0,3}(#{1,6})\\s+(.*?)(?:\\s+#+)?\\s*$");

    /** Alert name to its runbook_url (null when the rule has none), in file order. */
    private static Map<String, String> alerts;
    /** The headings of docs/runbooks.md, in file order. */
    private static List<Heading> headings;

    /** A heading's text as written, and its GitHub anchor. */
    record Heading(String text, String anchor) {}

    @BeforeAll
    static void read() throws IOException {
        alerts = new LinkedHashMap<>();
        for (JsonNode group : new YAMLMapper().readTree(ALERTS.toFile()).path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                if (rule.hasNonNull("alert")) {
                    JsonNode url = rule.path("annotations").path("runbook_url");
                    alerts.put(rule.get("alert").asText(), url.isTextual() ? url.asText() : null);
                }
            }
        }
        headings = headings(Files.readAllLines(RUNBOOKS));
    }

    @Test
    void alertsFileHasAlerts() {
        assertThat(alerts).as("alert rules in %s", ALERTS).hasSizeGreaterThan(10);
    }

    @Test
    void everyAlertHasARunbookUrlIntoDocsRunbooks() {
        List<String> wrong = new ArrayList<>();
        alerts.forEach((alert, url) -> {
            if (url == null || !RUNBOOK_URL.matcher(url).matches()) {
                wrong.add(alert + ": " + url);
            }
        });
        assertThat(wrong)
                .as("alerts whose runbook_url is not docs/runbooks.md#<anchor>")
                .isEmpty();
    }

    @Test
    void everyRunbookUrlAnchorIsAHeadingOfDocsRunbooks() {
        List<String> missing = new ArrayList<>();
        alerts.forEach((alert, url) -> {
            Matcher m = url == null ? null : RUNBOOK_URL.matcher(url);
            if (m != null
                    && m.matches()
                    && headings.stream().noneMatch(h -> h.anchor().equals(m.group(1)))) {
                missing.add(alert + ": #" + m.group(1));
            }
        });
        assertThat(missing)
                .as(
                        "runbook_url anchors with no heading in %s (anchors there: %s)",
                        RUNBOOKS, headings.stream().map(Heading::anchor).toList())
                .isEmpty();
    }

    @Test
    void everyAlertHasASectionOfItsOwnName() {
        List<String> without = new ArrayList<>();
        alerts.forEach((alert, url) -> {
            List<Heading> sections =
                    headings.stream().filter(h -> h.text().equals(alert)).toList();
            if (sections.size() != 1) {
                without.add(alert + " (" + sections.size() + " sections)");
            } else if (!("docs/runbooks.md#" + sections.get(0).anchor()).equals(url)) {
                without.add(alert + " (its section is #" + sections.get(0).anchor() + ", its runbook_url " + url + ")");
            }
        });
        assertThat(without)
                .as("alerts without exactly one section \"## <alert>\" in %s that their runbook_url names", RUNBOOKS)
                .isEmpty();
    }

    @Test
    void everyAlertSectionIsAnAlertThatExists() {
        List<String> stale = headings.stream()
                .map(Heading::text)
                .filter(h -> h.matches("Fortress[A-Za-z0-9]+"))
                .filter(h -> !alerts.containsKey(h))
                .toList();
        assertThat(stale)
                .as("sections of %s named like an alert that %s does not have", RUNBOOKS, ALERTS)
                .isEmpty();
    }

    @Test
    void slugsFollowGitHub() {
        assertThat(slug("FortressInstanceDown")).isEqualTo("fortressinstancedown");
        assertThat(slug("Prepared statements and `prepareThreshold`"))
                .isEqualTo("prepared-statements-and-preparethreshold");
        assertThat(slug("Read/write split: writer, readers")).isEqualTo("readwrite-split-writer-readers");
        assertThat(slug("[JobRunr](https://www.jobrunr.io) and **C#**")).isEqualTo("jobrunr-and-c");
        assertThat(headings(List.of("# Title", "## A b", "```", "## not a heading", "```", "## A b #")))
                .containsExactly(new Heading("Title", "title"), new Heading("A b", "a-b"), new Heading("A b", "a-b-1"));
    }

    /**
     * The ATX headings of a Markdown file outside fenced code blocks, with their GitHub anchors; a
     * repeated anchor gets GitHub's "-1", "-2", ... suffix.
     */
    static List<Heading> headings(List<String> lines) {
        List<Heading> result = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        String fence = null;
        for (String line : lines) {
            String trimmed = line.strip();
            if (fence == null && (trimmed.startsWith("```") || trimmed.startsWith("~~~"))) {
                fence = trimmed.substring(0, 3);
                continue;
            }
            if (fence != null) {
                if (trimmed.startsWith(fence)) {
                    fence = null;
                }
                continue;
            }
            Matcher m = HEADING.matcher(line);
            if (m.matches()) {
                String text = m.group(2);
                String base = slug(text);
                int n = seen.merge(base, 1, Integer::sum) - 1;
                result.add(new Heading(text, n == 0 ? base : base + "-" + n));
            }
        }
        return result;
    }

    /**
     * GitHub's anchor for a heading: the rendered text (inline code and emphasis markers dropped,
     * a link's text kept), lower case, every character that is not a letter, digit, space, '-' or
     * '_' removed, spaces to '-'.
     */
    static String slug(String heading) {
        String text = heading.replaceAll("!?\\[([^\\]]*)\\]\\([^)]*\\)", "$1")
                .replaceAll("<[^>]+>", "")
                .replace("`", "")
                .replace("*", "");
        return text.toLowerCase(Locale.ROOT)
                .replaceAll("[^\\p{L}\\p{N}\\p{M} _-]", "")
                .replace(' ', '-');
    }
}
