package dev.fortress.testing;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A throwaway real Prometheus server (the Debian binary) on a free loopback port, with its own
 * data directory, for tests that check what dashboards and alert rules see.
 */
public final class PrometheusServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Process process;
    private final Http http;

    private PrometheusServer(Path dir, Process process, int port) {
        this.dir = dir;
        this.process = process;
        this.http = new Http("127.0.0.1", port);
    }

    /** Starts Prometheus on {@code config} (YAML text) and waits until it is ready. */
    public static PrometheusServer start(String config) throws IOException {
        PrometheusTools.requireInstalled();
        Path dir = Files.createTempDirectory("fortress-prometheus");
        Path configFile = Files.writeString(dir.resolve("prometheus.yml"), config);
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Process process = new ProcessBuilder(
                        PrometheusTools.PROMETHEUS.toString(),
                        "--config.file=" + configFile,
                        "--storage.tsdb.path=" + dir.resolve("data"),
                        "--web.listen-address=127.0.0.1:" + port,
                        "--log.level=warn")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("prometheus.log").toFile())
                .start();
        PrometheusServer server = new PrometheusServer(dir, process, port);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!server.ready()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                String log = Files.readString(dir.resolve("prometheus.log"));
                server.close();
                throw new AssertionError("Prometheus did not start:\n" + log);
            }
            LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
        }
        return server;
    }

    private boolean ready() {
        try {
            return http.get("/-/ready").statusCode() == 200;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** {@code GET /api/v1/query}: the instant result vector (or matrix/scalar) of {@code expression}. */
    public List<?> query(String expression) {
        Map<String, Object> answer =
                api("/api/v1/query?query=" + URLEncoder.encode(expression, StandardCharsets.UTF_8));
        Map<?, ?> data = (Map<?, ?>) answer.get("data");
        Object result = data.get("result");
        return result instanceof List<?> list ? list : List.of(result);
    }

    /** The rule groups as {@code GET /api/v1/rules} reports them. */
    public List<?> ruleGroups() {
        return (List<?>) ((Map<?, ?>) api("/api/v1/rules").get("data")).get("groups");
    }

    public Map<String, Object> api(String path) {
        HttpResponse<String> response = http.get(path);
        try {
            Map<String, Object> answer = JSON.readValue(response.body(), new TypeReference<>() {});
            if (!"success".equals(answer.get("status"))) {
                throw new AssertionError(path + " answered " + response.statusCode() + ": " + response.body());
            }
            return answer;
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON from " + path + ": " + response.body(), e);
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory: the OS cleans up what is left
        }
    }
}
