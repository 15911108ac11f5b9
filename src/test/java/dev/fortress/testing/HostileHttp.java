package dev.fortress.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * HTTP/1.1 over a raw socket, one request per connection, for requests no well-behaved client
 * sends: invalid UTF-8 in the request line or headers, oversized headers, malformed framing.
 * The request is written exactly as given; the answer is read to the end of the connection.
 */
public final class HostileHttp {

    private final String host;
    private final int port;
    private final String from;

    public HostileHttp(String host, int port) {
        this(host, port, null);
    }

    /**
     * Connecting from the local address {@code from} (any of 127.0.0.0/8 is loopback here): a client
     * of its own address, for limits per client address.
     */
    public HostileHttp(String host, int port, String from) {
        this.host = host;
        this.port = port;
        this.from = from;
    }

    /**
     * What came back: a status, headers (names lower-cased) and body; or status -1 and
     * {@code failure} when the connection failed before a whole status line arrived.
     */
    public record Answer(int status, Map<String, List<String>> headers, byte[] body, String failure, long millis) {

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public Optional<String> header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
        }

        @Override
        public String toString() {
            if (status < 0) {
                return "no answer: " + failure;
            }
            String text = bodyText();
            return status + " " + headers.getOrDefault("content-type", List.of()) + " "
                    + (text.length() > 300 ? text.substring(0, 300) + "..." : text);
        }
    }

    /**
     * Sends {@code request} and reads the answer. The request is written on a separate thread, so
     * a server that answers before reading the whole body (413) is heard instead of deadlocking on
     * a full socket buffer.
     */
    public Answer exchange(byte[] request) {
        long started = System.nanoTime();
        Answer answer = send(request);
        return new Answer(
                answer.status(),
                answer.headers(),
                answer.body(),
                answer.failure(),
                (System.nanoTime() - started) / 1_000_000);
    }

    private Answer send(byte[] request) {
        try (Socket socket = from == null
                ? new Socket(host, port)
                : new Socket(host, port, java.net.InetAddress.getByName(from), 0)) {
            socket.setSoTimeout(15_000);
            OutputStream out = socket.getOutputStream();
            Thread writer = new Thread(
                    () -> {
                        try {
                            out.write(request);
                            out.flush();
                        } catch (IOException serverStoppedReading) {
                            // The server answered and closed before reading everything: its answer is what counts.
                        }
                    },
                    "hostile-writer");
            writer.setDaemon(true);
            writer.start();
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            String failure = null;
            try {
                InputStream in = socket.getInputStream();
                byte[] buffer = new byte[8192];
                int n;
                // To the end of the answer: a server may keep the connection open after it (CONNECT).
                while (!complete(received.toByteArray()) && (n = in.read(buffer)) >= 0) {
                    received.write(buffer, 0, n);
                }
            } catch (IOException e) {
                failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            writer.join(5_000);
            return parse(received.toByteArray(), failure);
        } catch (IOException e) {
            return new Answer(-1, Map.of(), new byte[0], e.getClass().getSimpleName() + ": " + e.getMessage(), 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(-1, Map.of(), new byte[0], "interrupted", 0);
        }
    }

    /** The answer without interim 1xx responses (100 Continue) in front of it. */
    private static byte[] finalAnswer(byte[] raw) {
        byte[] rest = raw;
        while (rest.length > 12
                && rest[9] == '1'
                && new String(rest, 0, 5, StandardCharsets.US_ASCII).equals("HTTP/")) {
            int end = indexOf(rest, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
            if (end < 0) {
                break;
            }
            rest = java.util.Arrays.copyOfRange(rest, end + 4, rest.length);
        }
        return rest;
    }

    private static Answer parse(byte[] all, String failure) {
        byte[] raw = finalAnswer(all);
        int headerEnd = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
        if (headerEnd < 0 || raw.length < 12) {
            return new Answer(
                    -1,
                    Map.of(),
                    raw,
                    failure == null ? "connection closed without an answer (" + raw.length + " bytes)" : failure,
                    0);
        }
        String[] lines = new String(raw, 0, headerEnd, StandardCharsets.ISO_8859_1).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        int status;
        try {
            status = Integer.parseInt(statusLine[1]);
        } catch (RuntimeException e) {
            return new Answer(-1, Map.of(), raw, "not an HTTP status line: " + lines[0], 0);
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.computeIfAbsent(
                                lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                        .add(lines[i].substring(colon + 1).trim());
            }
        }
        byte[] body = java.util.Arrays.copyOfRange(raw, headerEnd + 4, raw.length);
        List<String> encoding = headers.getOrDefault("transfer-encoding", List.of());
        if (encoding.stream().anyMatch(e -> e.equalsIgnoreCase("chunked"))) {
            body = dechunk(body);
        }
        return new Answer(status, headers, body, failure, 0);
    }

    /** True once the bytes hold a whole answer whose length is known (Content-Length, or a last chunk). */
    private static boolean complete(byte[] all) {
        byte[] raw = finalAnswer(all);
        int headerEnd = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
        if (headerEnd < 0) {
            return false;
        }
        String head = new String(raw, 0, headerEnd, StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
        int bodyLength = raw.length - headerEnd - 4;
        java.util.regex.Matcher length =
                java.util.regex.Pattern.compile("\r\ncontent-length:\\s*(\\d+)").matcher(head);
        if (length.find()) {
            return bodyLength >= Long.parseLong(length.group(1));
        }
        if (head.contains("\r\ntransfer-encoding:") && head.contains("chunked")) {
            return indexOf(raw, "\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII), headerEnd) >= 0
                    || indexOf(raw, "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII), headerEnd + 4) == headerEnd + 4;
        }
        return false;
    }

    private static byte[] dechunk(byte[] chunked) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int at = 0;
        while (at < chunked.length) {
            int lineEnd = indexOf(chunked, new byte[] {'\r', '\n'}, at);
            if (lineEnd < 0) {
                break;
            }
            String sizeText = new String(chunked, at, lineEnd - at, StandardCharsets.US_ASCII).split(";")[0].trim();
            int size = Integer.parseInt(sizeText, 16);
            if (size == 0) {
                break;
            }
            out.write(chunked, lineEnd + 2, Math.min(size, chunked.length - lineEnd - 2));
            at = lineEnd + 2 + size + 2;
        }
        return out.toByteArray();
    }

    private static int indexOf(byte[] data, byte[] pattern, int from) {
        outer:
        for (int i = from; i <= data.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
