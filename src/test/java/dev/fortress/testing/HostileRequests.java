package dev.fortress.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Generates malformed requests against every route of docs/api.md, reproducibly from a seeded
 * {@link Random}: broken JSON, wrong types, huge numbers, deep nesting, invalid UTF-8, SQL
 * metacharacters, very long strings, oversized headers and bodies, absurd limits and dates,
 * wrong content types, unknown, null and duplicated fields, malformed HTTP; what an attacker tries
 * against the API key (none, another scheme, a malformed, oversized or altered key, the key in the
 * query string, two Authorization headers; and malformed bodies sent without a key, which must be
 * refused as unauthenticated before anything is read); and, mixed in, a few valid requests whose
 * writes are the only ones the database may show afterwards. Every request but those of
 * {@link #AUTH} calls with the context's key.
 */
public final class HostileRequests {

    /** What the answer must be. */
    public enum Expect {
        /** A valid request: 2xx. */
        ACCEPT,
        /** Malformed: 4xx, nothing written. */
        REJECT,
        /** Odd but interpretable (lenient number coercion, an ignored junk header, a read): 2xx or 4xx. */
        ANY
    }

    /**
     * One request. {@code statuses}: when not empty, the only statuses allowed. {@code mayClose}:
     * the server may legitimately close without an answer we can read (it refuses an oversized
     * request and stops reading). {@code email}: for POST /users, the email it carries, if any.
     */
    public record Request(
            String route,
            String what,
            byte[] bytes,
            Expect expect,
            Set<Integer> statuses,
            boolean mayClose,
            String email) {

        public boolean writes() {
            return route.startsWith("POST");
        }
    }

    /**
     * What the generator needs to know of the database: the organisation it calls as and a valid
     * key of it (every scope), an existing user of it (for transactions) and an import of it.
     */
    public record Context(
            long orgId,
            String key,
            long userId,
            String importId,
            long userBodyLimit,
            long transactionBodyLimit,
            long importBodyLimit) {}

    public static final String USERS = "POST /users";
    public static final String USER = "GET /users/{id}";
    public static final String STATS = "GET /orgs/{id}/stats";
    public static final String NEW_TRANSACTION = "POST /transactions";
    public static final String TRANSACTIONS = "GET /transactions";
    public static final String SUMMARY = "GET /transactions/summary";
    public static final String IMPORTS = "POST /imports";
    public static final String IMPORT = "GET /imports/{id}";
    public static final String HTTP = "malformed HTTP";
    public static final String OTHER = "other paths";
    /** Requests whose credentials are the attack; each is also counted under its route's name. */
    public static final String AUTH = "authentication";
    /** The one answer to a request without a usable key: its body, and its WWW-Authenticate. */
    public static final String UNAUTHENTICATED_BODY =
            "{\"code\":401,\"message\":\"Credentials are required to access this resource.\"}";

    public static final String BEARER_CHALLENGE = "Bearer realm=\"fortress\"";

    private static final String[] SQL = {
        "' OR 1=1 --",
        "'; drop table users; --",
        ";drop table users",
        "\" OR \"\"=\"",
        "1; select pg_sleep(10)",
        "' union select email from users --",
        "$$; truncate users; $$",
        "\\'; delete from transactions; --",
        "%27%20OR%201%3D1",
        "1' AND (select count(*) from pg_user) > 0 --",
        "admin'--",
        "' || (select version()) || '",
    };

    private final Random random;
    private final Context context;
    /** The header every request carries unless it brings an Authorization of its own. */
    private final String keyHeader;

    private final List<Request> out = new ArrayList<>();
    private int sequence;

    private HostileRequests(Random random, Context context) {
        this.random = random;
        this.context = context;
        this.keyHeader = "Authorization: Bearer " + context.key();
    }

    /** The whole set, shuffled (with the same seed, the same requests in the same order). */
    public static List<Request> generate(long seed, Context context) {
        HostileRequests g = new HostileRequests(new Random(seed), context);
        g.users();
        g.userReads();
        g.stats();
        g.newTransactions();
        g.transactionReads();
        g.summaries();
        g.imports();
        g.importReads();
        g.malformedHttp();
        g.oversizedHeaders();
        g.otherPaths();
        g.authentication();
        java.util.Collections.shuffle(g.out, g.random);
        return g.out;
    }

    // ---------------------------------------------------------------- POST /users

    private void users() {
        for (int i = 0; i < 20; i++) {
            String email = "valid" + next() + "@hostile.io";
            add(
                    USERS,
                    "valid user",
                    json("/users", user(q(email), q(role()), num(context.orgId()), num(age()))),
                    Expect.ACCEPT,
                    Set.of(201),
                    email);
        }
        for (String broken : brokenJson(user(q(email()), q("member"), "1", "30"))) {
            add(USERS, "broken JSON " + abbreviate(broken), json("/users", broken), expectFor(broken), Set.of(), null);
        }
        // Wrong types, one field at a time.
        String[] wrongStrings = {"123", "true", "[]", "{}", "[\"a@x.io\"]", "{\"email\":\"a@x.io\"}", "null", "1.5e3"};
        String[] wrongNumbers = {
            "\"abc\"",
            "[]",
            "{}",
            "[1]",
            "{\"v\":1}",
            "\"\"",
            "\"1 OR 1=1\"",
            "\"0x10\"",
            "\"NaN\"",
            "\"Infinity\"",
            "\"-Infinity\"",
            "\"7abc\"",
            "[[1]]",
            "\"1e400\""
        };
        for (String w : wrongStrings) {
            reject(USERS, "email " + w, json("/users", user(w, q("member"), "1", "30")));
            reject(USERS, "role " + w, json("/users", user(q(email()), w, "1", "30")));
        }
        for (String w : wrongNumbers) {
            reject(USERS, "orgId " + w, json("/users", user(q(email()), q("member"), w, "30")));
            reject(USERS, "age " + w, json("/users", user(q(email()), q("member"), "1", w)));
        }
        // Huge, signed and special numbers.
        String[] orgIds = {
            "1e400",
            "-1e400",
            "9223372036854775808",
            "-9223372036854775809",
            "0",
            "-0",
            "-1",
            "99999999999999999999999999999999",
            "NaN",
            "Infinity",
            "-Infinity",
            "0x10",
            "01",
            "+1",
            ".5",
            "1.",
            "1e-400",
            "-0.0",
            "2e63"
        };
        for (String n : orgIds) {
            reject(USERS, "orgId " + n, json("/users", user(q(email()), q("member"), n, "30")));
        }
        String[] ages = {
            "1e400",
            "2147483648",
            "-2147483649",
            "151",
            "-1",
            "NaN",
            "1e2.5",
            "9223372036854775807",
            "999999999999999999999",
            "Infinity"
        };
        for (String n : ages) {
            reject(USERS, "age " + n, json("/users", user(q(email()), q("member"), "1", n)));
        }
        // Another organisation than the key's: refused (403), whatever else the body says.
        for (int i = 0; i < 5; i++) {
            add(
                    USERS,
                    "orgId of another organisation",
                    json("/users", user(q(email()), q(role()), num(otherOrg()), num(age()))),
                    Expect.REJECT,
                    Set.of(403),
                    null);
        }
        // A fraction where an integer belongs is refused, not truncated (30.7 would become 30).
        for (String n : new String[] {"30.7", "1e1", "30.0", "-0.5", "1.9"}) {
            reject(USERS, "age " + n, json("/users", user(q(email()), q("member"), "1", n)));
            reject(USERS, "orgId " + n, json("/users", user(q(email()), q("member"), n, "30")));
        }
        // Interpretable by Jackson's default scalar coercions: a numeric string, a boolean.
        for (String n : new String[] {"\"30\"", "true", "false", "\" 30\""}) {
            String email = "coerced" + next() + "@hostile.io";
            add(
                    USERS,
                    "age " + n + " (coercible)",
                    json("/users", user(q(email), q("member"), "1", n)),
                    Expect.ANY,
                    Set.of(),
                    email);
        }
        for (String n : new String[] {q(String.valueOf(context.orgId())), "true", q(" " + context.orgId())}) {
            String email = "coerced" + next() + "@hostile.io";
            add(
                    USERS,
                    "orgId " + n + " (coercible)",
                    json("/users", user(q(email), q("member"), n, "30")),
                    Expect.ANY,
                    Set.of(),
                    email);
        }
        // Deep nesting: past the parser's depth limit, and past the body limit.
        for (int depth : new int[] {1_001, 2_000, 5_000, 8_000}) {
            reject(USERS, depth + " nested arrays", json("/users", "[".repeat(depth) + "]".repeat(depth)));
            reject(
                    USERS,
                    depth + " nested objects in email",
                    json("/users", "{\"email\":" + "{\"a\":".repeat(depth) + "1" + "}".repeat(depth) + "}"));
        }
        add(
                USERS,
                "10,000 nested arrays (over the body limit)",
                json("/users", "[".repeat(10_000) + "]".repeat(10_000)),
                Expect.REJECT,
                Set.of(400, 413),
                true,
                null);
        // Invalid UTF-8 in the body, lone surrogates, control characters.
        byte[][] badBytes = {
            {(byte) 0xC3, 0x28},
            {(byte) 0xFF},
            {(byte) 0xFE, (byte) 0xFF},
            {(byte) 0xC0, (byte) 0xAF},
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
            {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
            {(byte) 0xE2, (byte) 0x82},
            {(byte) 0x80}
        };
        for (byte[] bad : badBytes) {
            reject(
                    USERS,
                    "invalid UTF-8 in email",
                    json(
                            "/users",
                            concat(
                                    "{\"email\":\"u".getBytes(StandardCharsets.UTF_8),
                                    bad,
                                    "@x.io\",\"role\":\"member\",\"orgId\":1,\"age\":30}"
                                            .getBytes(StandardCharsets.UTF_8))));
            reject(
                    USERS,
                    "invalid UTF-8 in role",
                    json(
                            "/users",
                            concat(
                                    ("{\"email\":\"" + email() + "\",\"role\":\"mem").getBytes(StandardCharsets.UTF_8),
                                    bad,
                                    "\",\"orgId\":1,\"age\":30}".getBytes(StandardCharsets.UTF_8))));
            reject(
                    USERS,
                    "invalid UTF-8 as a key",
                    json(
                            "/users",
                            concat(
                                    "{\"".getBytes(StandardCharsets.UTF_8),
                                    bad,
                                    "\":1}".getBytes(StandardCharsets.UTF_8))));
        }
        // Escapes of what is no character (an unpaired surrogate) or a control character: refused.
        for (String odd :
                new String[] {"\\ud800", "\\udfff", "\\ud800\\ud800", "\\u0000", "\\u001f", "\\ud83d", "\\udc00\\ud800"
                }) {
            reject(
                    USERS,
                    "escape " + odd + " in email",
                    json("/users", user("\"u" + next() + odd + "@hostile.io\"", q("member"), "1", "30")));
        }
        for (String fine : new String[] {"\\uffff", "\\ud83d\\ude00", "\\u00e9"}) {
            add(
                    USERS,
                    "escape " + fine + " in email",
                    json("/users", user("\"u" + next() + fine + "@hostile.io\"", q("member"), "1", "30")),
                    Expect.ANY,
                    Set.of(),
                    null);
        }
        reject(USERS, "raw control characters", json("/users", user("\"a\u0000b@x.io\"", q("member"), "1", "30")));
        reject(USERS, "raw newline in a string", json("/users", user("\"a\nb@x.io\"", q("member"), "1", "30")));
        // SQL metacharacters: never SQL, only text. Some are valid email local parts (kept literally).
        for (String sql : SQL) {
            reject(USERS, "SQL in role", json("/users", user(q(email()), q(sql), "1", "30")));
            reject(USERS, "SQL as email", json("/users", user(q(sql), q("member"), "1", "30")));
            reject(USERS, "SQL in orgId", json("/users", user(q(email()), q("member"), q("1" + sql), "30")));
        }
        for (String local : new String[] {"o'reilly", "x'or'1'='1", "a;drop", "q$$x", "pct%27"}) {
            String email = local + next() + "@hostile.io";
            add(
                    USERS,
                    "SQL-ish but valid email " + local,
                    json("/users", user(q(email), q("viewer"), num(context.orgId()), "40")),
                    Expect.ANY,
                    Set.of(),
                    email);
        }
        // Very long strings (under the body limit) and just over the limit.
        for (int length : new int[] {255, 300, 1_000, 5_000, 12_000}) {
            reject(
                    USERS,
                    length + "-char email",
                    json("/users", user(q("a".repeat(length) + "@x.io"), q("member"), "1", "30")));
            reject(USERS, length + "-char role", json("/users", user(q(email()), q("r".repeat(length)), "1", "30")));
            reject(
                    USERS,
                    length + "-digit orgId",
                    json("/users", user(q(email()), q("member"), "9".repeat(length), "30")));
        }
        reject(
                USERS,
                "email of 64 + 1 + 190 chars",
                json("/users", user(q("a".repeat(65) + "@" + "b".repeat(185) + ".io"), q("member"), "1", "30")));
        // Null, missing, unknown and duplicated fields.
        reject(USERS, "null body", json("/users", "null"));
        reject(USERS, "empty object", json("/users", "{}"));
        reject(USERS, "empty body", json("/users", ""));
        for (String field : new String[] {"email", "role", "orgId", "age"}) {
            reject(
                    USERS,
                    field + " null",
                    json(
                            "/users",
                            user(q(email()), q("member"), "1", "30")
                                    .replace("\"" + field + "\":", "\"" + field + "\":null,\"x" + field + "\":")));
            reject(
                    USERS,
                    field + " missing",
                    json(
                            "/users",
                            user(q(email()), q("member"), "1", "30")
                                    .replaceAll("\"" + field + "\":(\"[^\"]*\"|[0-9]+),?", "")
                                    .replace(",}", "}")));
        }
        for (String unknown : new String[] {
            "\"id\":1",
            "\"admin\":true",
            "\"role\":\"admin\",\"isAdmin\":true",
            "\"__proto__\":{\"admin\":true}",
            "\"createdAt\":\"2020-01-01T00:00:00Z\""
        }) {
            String email = "unknown" + next() + "@hostile.io";
            add(
                    USERS,
                    "unknown field " + unknown,
                    json("/users", user(q(email), q("member"), "1", "30").replace("{", "{" + unknown + ",")),
                    Expect.ANY,
                    Set.of(),
                    email);
        }
        for (int i = 0; i < 4; i++) {
            // The last value is invalid: whichever value the parser keeps, or if it refuses duplicates, no write.
            reject(
                    USERS,
                    "duplicated age, last invalid",
                    json("/users", user(q(email()), q("member"), "1", "30").replace("}", ",\"age\":999}")));
            reject(
                    USERS,
                    "duplicated email, last invalid",
                    json(
                            "/users",
                            user(q(email()), q("member"), "1", "30").replace("}", ",\"email\":\"not-an-email\"}")));
            String email = "dup" + next() + "@hostile.io";
            add(
                    USERS,
                    "duplicated email, both valid",
                    json(
                            "/users",
                            user(q("first" + email), q("member"), "1", "30")
                                    .replace("}", ",\"email\":" + q(email) + "}")),
                    Expect.ANY,
                    Set.of(),
                    email);
        }
        // Wrong content types, charsets and methods.
        String body = user(q(email()), q("member"), "1", "30");
        for (String type : new String[] {
            "text/plain",
            "text/csv",
            "application/xml",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/octet-stream",
            "*/*",
            "application",
            "json",
            "application/json-patch+json",
            "text/html; charset=utf-8"
        }) {
            add(
                    USERS,
                    "Content-Type " + type,
                    request("POST", "/users", List.of("Content-Type: " + type), body.getBytes(StandardCharsets.UTF_8)),
                    Expect.REJECT,
                    Set.of(400, 415),
                    null);
        }
        add(
                USERS,
                "no Content-Type",
                request("POST", "/users", List.of(), body.getBytes(StandardCharsets.UTF_8)),
                Expect.REJECT,
                Set.of(400, 415),
                null);
        for (String charset : new String[] {"utf-16", "ebcdic-unknown", "x-garbage", "iso-8859-1\"; x=\""}) {
            add(
                    USERS,
                    "charset " + charset,
                    request(
                            "POST",
                            "/users",
                            List.of("Content-Type: application/json; charset=" + charset),
                            user(q(email()), q("member"), "1", "999").getBytes(StandardCharsets.UTF_8)),
                    Expect.REJECT,
                    Set.of(),
                    null);
        }
        for (String method : new String[] {"PUT", "DELETE", "PATCH"}) {
            add(
                    USERS,
                    method + " /users",
                    request(
                            method,
                            "/users",
                            List.of("Content-Type: application/json"),
                            body.getBytes(StandardCharsets.UTF_8)),
                    Expect.REJECT,
                    Set.of(405),
                    null);
        }
        // Over the body limit: declared (refused before reading) and chunked (cut off while reading).
        byte[] big = user(q(email()), q("member"), "1", "30")
                .replace("}", ",\"pad\":\"" + "x".repeat((int) context.userBodyLimit()) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        add(
                USERS,
                "declared body over the limit",
                headersOnly("POST", "/users", "application/json", context.userBodyLimit() + 1),
                Expect.REJECT,
                Set.of(413),
                null);
        add(USERS, "body over the limit", json("/users", big), Expect.REJECT, Set.of(413), true, null);
        add(
                USERS,
                "chunked body over the limit",
                chunked("POST", "/users", "application/json", big),
                Expect.REJECT,
                Set.of(413),
                true,
                null);
        add(USERS, "1 MB body", json("/users", new byte[1 << 20]), Expect.REJECT, Set.of(413), true, null);
    }

    // ---------------------------------------------------------------- GET /users/{id}

    private void userReads() {
        String[] ids = {
            "-1",
            "0",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "1e3",
            "1.0",
            "0x1F",
            "abc",
            "%00",
            "%FF",
            "%C3%28",
            "1%27%20OR%201%3D1",
            "1;drop%20table%20users",
            "1%20OR%201=1",
            "..%2F..%2Fetc%2Fpasswd",
            "%2e%2e",
            "1/2",
            "1?x=1",
            "1#frag",
            "",
            "%20",
            "+1",
            "1%0d%0aX-Injected:%201",
            "99999999999999999999999999",
            "NaN",
            "null",
            "undefined",
            "%ef%bf%bd",
            "1,2",
            "[1]",
            "{1}"
        };
        for (String id : ids) {
            add(USER, "id " + id, get("/users/" + id, List.of()), Expect.ANY, Set.of(), null);
        }
        add(USER, "id valid", get("/users/" + context.userId(), List.of()), Expect.ACCEPT, Set.of(200), null);
        add(
                USER,
                "invalid UTF-8 in path",
                raw("GET /users/\u00ff\u00fe HTTP/1.1".getBytes(StandardCharsets.ISO_8859_1), List.of(), null),
                Expect.REJECT,
                Set.of(),
                null);
        add(
                USER,
                "invalid UTF-8 in path (overlong /)",
                raw(
                        concat(
                                "GET /users/".getBytes(StandardCharsets.US_ASCII),
                                new byte[] {(byte) 0xC0, (byte) 0xAF},
                                " HTTP/1.1".getBytes(StandardCharsets.US_ASCII)),
                        List.of(),
                        null),
                Expect.REJECT,
                Set.of(),
                null);
        // Consistency tokens: malformed ones are ignored (the read goes to the writer), never a 500.
        String[] tokens = {
            "garbage",
            "0/0",
            "-1/-1",
            "1/",
            "/1",
            "0/1' OR 1=1 --",
            "a".repeat(4000),
            "ZZ/ZZ",
            "0x10/0x10",
            "1/2/3",
            "",
            " ",
            "null",
            "\u00ff\u00fe",
            "100000000/0",
            "00000000000000000000000000001/1"
        };
        for (String token : tokens) {
            add(
                    USER,
                    "token " + abbreviate(token),
                    get("/users/" + context.userId(), List.of("X-Consistency-Token: " + token)),
                    Expect.ACCEPT,
                    Set.of(200),
                    null);
        }
        // Well-formed, but ahead of the writer: refused (400) where the read would go to the writer; a
        // reader that is no standby (these tests' own) is never behind and serves them (200).
        for (String token : new String[] {"FFFFFFFF/FFFFFFFF", "7FFFFFFF/FFFFFFFF", "16/B374D848"}) {
            add(
                    USER,
                    "token " + token,
                    get("/users/" + context.userId(), List.of("X-Consistency-Token: " + token)),
                    Expect.ANY,
                    Set.of(200, 400),
                    null);
        }
        for (String accept : new String[] {"text/html", "application/xml", "image/png", "*/*;q=abc", "garbage"}) {
            add(
                    USER,
                    "Accept " + accept,
                    get("/users/" + context.userId(), List.of("Accept: " + accept)),
                    Expect.ANY,
                    Set.of(),
                    null);
        }
        for (String method : new String[] {"POST", "PUT", "DELETE", "PATCH"}) {
            add(
                    USER,
                    method + " /users/{id}",
                    request(
                            method,
                            "/users/" + context.userId(),
                            List.of("Content-Type: application/json"),
                            "{}".getBytes(StandardCharsets.UTF_8)),
                    Expect.REJECT,
                    Set.of(405),
                    null);
        }
        add(USER, "HEAD", request("HEAD", "/users/" + context.userId(), List.of(), null), Expect.ANY, Set.of(), null);
        add(
                USER,
                "OPTIONS",
                request("OPTIONS", "/users/" + context.userId(), List.of(), null),
                Expect.ANY,
                Set.of(),
                null);
        add(
                USER,
                "TRACE",
                request("TRACE", "/users/" + context.userId(), List.of(), null),
                Expect.REJECT,
                Set.of(405),
                null);
        for (int i = 0; i < 20; i++) {
            String id = random.nextBoolean() ? String.valueOf(random.nextLong()) : randomPathSegment();
            add(USER, "random id", get("/users/" + id, List.of()), Expect.ANY, Set.of(), null);
        }
    }

    // ---------------------------------------------------------------- GET /orgs/{id}/stats

    private void stats() {
        String[] ids = {
            "-1",
            "0",
            "9223372036854775807",
            "9223372036854775808",
            "abc",
            "1e3",
            "%00",
            "%FF",
            "1%27%20OR%201%3D1",
            "1;drop%20table%20users",
            "..%2F..",
            "",
            "NaN",
            "1.5",
            "+1",
            "-0",
            "99999999999999999999999999",
            "%C3%28",
            "1%0d%0aSet-Cookie:%20x=1"
        };
        for (String id : ids) {
            add(STATS, "org " + id, get("/orgs/" + id + "/stats", List.of()), Expect.ANY, Set.of(), null);
        }
        for (int i = 0; i < 15; i++) {
            String id = random.nextBoolean() ? String.valueOf(random.nextLong()) : randomPathSegment();
            add(STATS, "random org", get("/orgs/" + id + "/stats", List.of()), Expect.ANY, Set.of(), null);
        }
        add(
                STATS,
                "POST stats",
                request(
                        "POST",
                        "/orgs/1/stats",
                        List.of("Content-Type: application/json"),
                        "{}".getBytes(StandardCharsets.UTF_8)),
                Expect.REJECT,
                Set.of(405),
                null);
        add(
                STATS,
                "invalid UTF-8 in path",
                raw(
                        concat(
                                "GET /orgs/".getBytes(StandardCharsets.US_ASCII),
                                new byte[] {(byte) 0xFF, (byte) 0xC3},
                                "/stats HTTP/1.1".getBytes(StandardCharsets.US_ASCII)),
                        List.of(),
                        null),
                Expect.REJECT,
                Set.of(),
                null);
        add(
                STATS,
                "query junk",
                get("/orgs/1/stats?refresh=true&orgId=1%27--&x=" + "y".repeat(2000), List.of()),
                Expect.ANY,
                Set.of(),
                null);
        add(STATS, "valid", get("/orgs/" + context.orgId() + "/stats", List.of()), Expect.ACCEPT, Set.of(200), null);
    }

    // ---------------------------------------------------------------- POST /transactions

    private void newTransactions() {
        long user = context.userId();
        for (int i = 0; i < 20; i++) {
            add(
                    NEW_TRANSACTION,
                    "valid transaction",
                    json("/transactions", transaction(String.valueOf(user), q(amount()), q(recent().toString()))),
                    Expect.ACCEPT,
                    Set.of(201),
                    null);
        }
        String ok = transaction(String.valueOf(user), q("12.50"), q(recent().toString()));
        for (String broken : brokenJson(ok)) {
            add(
                    NEW_TRANSACTION,
                    "broken JSON " + abbreviate(broken),
                    json("/transactions", broken),
                    expectFor(broken),
                    Set.of(),
                    null);
        }
        String[] userIds = {
            "0",
            "-1",
            "-0",
            "9223372036854775808",
            "1e400",
            "\"abc\"",
            "[]",
            "{}",
            "null",
            "1.5",
            "1e0",
            "NaN",
            "\"1 OR 1=1\"",
            "99999999999999999999",
            "9223372036854775807",
            "\"\"",
            q("1'; drop table transactions; --")
        };
        for (String u : userIds) {
            reject(
                    NEW_TRANSACTION,
                    "userId " + u,
                    json("/transactions", transaction(u, q("12.50"), q(recent().toString()))));
        }
        String[] amounts = {
            "\"1e400\"",
            "\"NaN\"",
            "\"Infinity\"",
            "\"12.345\"",
            "\"1234567890123.00\"",
            "\"\"",
            "\"12,50\"",
            "\"0x10\"",
            "\"--1\"",
            "\" 12.50\"",
            "\"12.50 \"",
            "\"+12.50\"",
            "\"1.\"",
            "\".5\"",
            "true",
            "[]",
            "{}",
            "null",
            "1e400",
            "\"9223372036854775808.00\"",
            q("1; drop table transactions"),
            q("12.50' --"),
            "\"\uff11\uff12\"",
            "\"12\u00a0.50\""
        };
        for (String a : amounts) {
            reject(
                    NEW_TRANSACTION,
                    "amount " + a,
                    json("/transactions", transaction(String.valueOf(user), a, q(recent().toString()))));
        }
        // A JSON number where a decimal string belongs: coercible, and within the pattern.
        for (String a : new String[] {"12.5", "7", "-0"}) {
            add(
                    NEW_TRANSACTION,
                    "amount number " + a,
                    json("/transactions", transaction(String.valueOf(user), a, q(recent().toString()))),
                    Expect.ANY,
                    Set.of(),
                    null);
        }
        String[] dates = {
            "\"99999-01-01T00:00:00Z\"",
            "\"+99999-01-01T00:00:00Z\"",
            "\"+294277-01-01T00:00:00Z\"",
            "\"-290000-01-01T00:00:00Z\"",
            "\"+1000000000-12-31T23:59:59.999999999Z\"",
            "\"-1000000000-01-01T00:00:00Z\"",
            "\"0000-01-01T00:00:00Z\"",
            "\"-0001-01-01T00:00:00Z\"",
            "\"1970-01-01T00:00:00Z\"",
            "\"2024-13-45T99:99:99Z\"",
            "\"2024-02-30T00:00:00Z\"",
            "\"2024-05-03\"",
            "\"05/03/2024\"",
            "\"now\"",
            "\"\"",
            "\"2024-05-03T10:00:00\"",
            "\"2024-05-03T10:00:00+25:00\"",
            "\"1e400\"",
            "1e400",
            "-1e400",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "1.5e300",
            "NaN",
            "true",
            "[]",
            "{}",
            "null",
            "\"2024-05-03T10:00:00Z' OR 1=1 --\"",
            "\"" + "9".repeat(500) + "\"",
            "31556889864403199",
            "-31557014167219200",
            "1e20",
            "-1e20",
            "\"P1D\"",
            "\"2024-W18-5\""
        };
        for (String d : dates) {
            reject(
                    NEW_TRANSACTION,
                    "createdAt " + abbreviate(d),
                    json("/transactions", transaction(String.valueOf(user), q("12.50"), d)));
        }
        reject(NEW_TRANSACTION, "null body", json("/transactions", "null"));
        reject(NEW_TRANSACTION, "empty body", json("/transactions", ""));
        reject(NEW_TRANSACTION, "empty object", json("/transactions", "{}"));
        for (int depth : new int[] {1_001, 1_900}) {
            reject(
                    NEW_TRANSACTION,
                    depth + " nested arrays",
                    json("/transactions", "[".repeat(depth) + "]".repeat(depth)));
        }
        add(
                NEW_TRANSACTION,
                "10,000 nested arrays (over the limit)",
                json("/transactions", "[".repeat(10_000) + "]".repeat(10_000)),
                Expect.REJECT,
                Set.of(400, 413),
                true,
                null);
        reject(
                NEW_TRANSACTION,
                "invalid UTF-8 in amount",
                json(
                        "/transactions",
                        concat(
                                ("{\"userId\":" + user + ",\"amount\":\"12").getBytes(StandardCharsets.UTF_8),
                                new byte[] {(byte) 0xFF},
                                ("\",\"createdAt\":" + q(recent().toString()) + "}")
                                        .getBytes(StandardCharsets.UTF_8))));
        reject(
                NEW_TRANSACTION,
                "duplicated amount, last invalid",
                json("/transactions", ok.replace("}", ",\"amount\":\"x\"}")));
        reject(
                NEW_TRANSACTION,
                "duplicated createdAt, last outside the partitions",
                json("/transactions", ok.replace("}", ",\"createdAt\":\"1999-01-01T00:00:00Z\"}")));
        add(
                NEW_TRANSACTION,
                "unknown field",
                json("/transactions", ok.replace("{", "{\"id\":1,\"currency\":\"EUR\",")),
                Expect.ANY,
                Set.of(),
                null);
        for (String type :
                new String[] {"text/plain", "text/csv", "application/xml", "application/x-www-form-urlencoded"}) {
            add(
                    NEW_TRANSACTION,
                    "Content-Type " + type,
                    request(
                            "POST",
                            "/transactions",
                            List.of("Content-Type: " + type),
                            ok.getBytes(StandardCharsets.UTF_8)),
                    Expect.REJECT,
                    Set.of(400, 415),
                    null);
        }
        byte[] big = ok.replace("}", ",\"pad\":\"" + "x".repeat((int) context.transactionBodyLimit()) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        add(
                NEW_TRANSACTION,
                "declared body over the limit",
                headersOnly("POST", "/transactions", "application/json", context.transactionBodyLimit() + 1),
                Expect.REJECT,
                Set.of(413),
                null);
        add(NEW_TRANSACTION, "body over the limit", json("/transactions", big), Expect.REJECT, Set.of(413), true, null);
        add(
                NEW_TRANSACTION,
                "chunked body over the limit",
                chunked("POST", "/transactions", "application/json", big),
                Expect.REJECT,
                Set.of(413),
                true,
                null);
        for (String method : new String[] {"PUT", "DELETE", "PATCH"}) {
            add(
                    NEW_TRANSACTION,
                    method + " /transactions",
                    request(
                            method,
                            "/transactions",
                            List.of("Content-Type: application/json"),
                            ok.getBytes(StandardCharsets.UTF_8)),
                    Expect.REJECT,
                    Set.of(405),
                    null);
        }
    }

    // ---------------------------------------------------------------- GET /transactions, /summary

    private static final String[] LIMITS = {
        "-1",
        "0",
        "1001",
        "1000000000000",
        "2147483648",
        "-2147483649",
        "abc",
        "1.5",
        "",
        "1e3",
        "%00",
        "1%27",
        "9223372036854775808",
        "+5",
        "0x10",
        " 5",
        "5;drop",
        "NaN"
    };
    private static final String[] INSTANTS = {
        "+99999-01-01T00:00:00Z",
        "99999-01-01T00:00:00Z",
        "+294277-01-01T00:00:00Z",
        "-290000-01-01T00:00:00Z",
        "+1000000000-12-31T23:59:59.999999999Z",
        "-1000000000-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2024-13-45T99:99:99Z",
        "2024-05-03",
        "05%2F03%2F2024",
        "now",
        "",
        "2024-05-03T10:00:00",
        "1e400",
        "1714730000",
        "%FF",
        "2024-05-03T10:00:00Z%27%20OR%201=1%20--",
        "2024-05-03T10:00:00%2B25:00",
        "-0001-01-01T00:00:00Z",
        "+10000-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999Z",
        "0001-01-01T00:00:00Z"
    };

    private void transactionReads() {
        for (String limit : LIMITS) {
            add(
                    TRANSACTIONS,
                    "limit " + limit,
                    get("/transactions?limit=" + limit, List.of()),
                    Expect.ANY,
                    Set.of(),
                    null);
        }
        for (String instant : INSTANTS) {
            // A raw '+' in a query is a space; %2B is the sign.
            for (String from : new java.util.LinkedHashSet<>(List.of(instant, instant.replace("+", "%2B")))) {
                add(
                        TRANSACTIONS,
                        "from " + from,
                        get("/transactions?from=" + from, List.of()),
                        Expect.ANY,
                        Set.of(),
                        null);
                add(TRANSACTIONS, "to " + from, get("/transactions?to=" + from, List.of()), Expect.ANY, Set.of(), null);
            }
        }
        for (int i = 0; i < 30; i++) {
            String a = INSTANTS[random.nextInt(INSTANTS.length)].replace("+", "%2B");
            String b = INSTANTS[random.nextInt(INSTANTS.length)].replace("+", "%2B");
            add(
                    TRANSACTIONS,
                    "from " + a + " to " + b,
                    get(
                            "/transactions?from=" + a + "&to=" + b + "&limit=" + LIMITS[random.nextInt(LIMITS.length)],
                            List.of()),
                    Expect.ANY,
                    Set.of(),
                    null);
        }
        add(
                TRANSACTIONS,
                "from after to",
                get("/transactions?from=2025-06-01T00:00:00Z&to=2025-01-01T00:00:00Z", List.of()),
                Expect.REJECT,
                Set.of(400),
                null);
        add(
                TRANSACTIONS,
                "from equals to",
                get("/transactions?from=2025-06-01T00:00:00Z&to=2025-06-01T00:00:00Z", List.of()),
                Expect.REJECT,
                Set.of(400),
                null);
        for (String userId : new String[] {
            "-1",
            "0",
            "abc",
            "9223372036854775808",
            "1%20OR%201=1",
            "1'--",
            "1e3",
            "",
            "NaN",
            String.valueOf(context.userId())
        }) {
            add(
                    TRANSACTIONS,
                    "userId " + userId,
                    get("/transactions?userId=" + userId, List.of()),
                    Expect.ANY,
                    Set.of(),
                    null);
        }
        add(
                TRANSACTIONS,
                "repeated parameters",
                get("/transactions?limit=5&limit=-1&from=x&from=2024-01-01T00:00:00Z", List.of()),
                Expect.ANY,
                Set.of(),
                null);
        add(
                TRANSACTIONS,
                "valid",
                get("/transactions?limit=5&userId=" + context.userId(), List.of()),
                Expect.ACCEPT,
                Set.of(200),
                null);
        add(
                TRANSACTIONS,
                "invalid UTF-8 in query",
                raw(
                        concat(
                                "GET /transactions?from=".getBytes(StandardCharsets.US_ASCII),
                                new byte[] {(byte) 0xC3, 0x28},
                                " HTTP/1.1".getBytes(StandardCharsets.US_ASCII)),
                        List.of(),
                        null),
                Expect.REJECT,
                Set.of(),
                null);
        add(
                TRANSACTIONS,
                "percent-encoded invalid UTF-8 in query",
                get("/transactions?from=%C3%28&limit=%FF", List.of()),
                Expect.REJECT,
                Set.of(),
                null);
        add(
                TRANSACTIONS,
                "6 KB query",
                get("/transactions?from=" + "9".repeat(6_000), List.of()),
                Expect.REJECT,
                Set.of(),
                null);
    }

    private void summaries() {
        for (String instant : INSTANTS) {
            for (String from : new java.util.LinkedHashSet<>(List.of(instant, instant.replace("+", "%2B")))) {
                add(
                        SUMMARY,
                        "from " + from,
                        get("/transactions/summary?from=" + from, List.of()),
                        Expect.ANY,
                        Set.of(),
                        null);
                add(
                        SUMMARY,
                        "to " + from,
                        get("/transactions/summary?to=" + from, List.of()),
                        Expect.ANY,
                        Set.of(),
                        null);
            }
        }
        for (int i = 0; i < 20; i++) {
            String a = INSTANTS[random.nextInt(INSTANTS.length)].replace("+", "%2B");
            String b = INSTANTS[random.nextInt(INSTANTS.length)].replace("+", "%2B");
            add(
                    SUMMARY,
                    "from " + a + " to " + b,
                    get("/transactions/summary?from=" + a + "&to=" + b, List.of()),
                    Expect.ANY,
                    Set.of(),
                    null);
        }
        add(
                SUMMARY,
                "from after to",
                get("/transactions/summary?from=2025-06-01T00:00:00Z&to=2025-01-01T00:00:00Z", List.of()),
                Expect.REJECT,
                Set.of(400),
                null);
        add(
                SUMMARY,
                "valid",
                get("/transactions/summary?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z", List.of()),
                Expect.ACCEPT,
                Set.of(200),
                null);
        add(
                SUMMARY,
                "POST",
                request(
                        "POST",
                        "/transactions/summary",
                        List.of("Content-Type: application/json"),
                        "{}".getBytes(StandardCharsets.UTF_8)),
                Expect.REJECT,
                Set.of(405),
                null);
    }

    // ---------------------------------------------------------------- POST /imports, GET /imports/{id}

    private void imports() {
        for (int i = 0; i < 2; i++) {
            String csv = "email,role,org_id,age\nimport" + next() + "@hostile.io,member," + context.orgId()
                    + ",30\nimport" + next() + "@hostile.io,admin," + context.orgId() + ",31\n";
            add(
                    IMPORTS,
                    "valid import",
                    csvUpload(csv.getBytes(StandardCharsets.UTF_8), List.of()),
                    Expect.ACCEPT,
                    Set.of(202),
                    null);
        }
        // Accepted by contract (the body is stored as is; the job rejects it), but none imports a row.
        List<byte[]> storedButUseless = new ArrayList<>(List.of(
                "not,a,csv,header\n1,2,3,4\n".getBytes(StandardCharsets.UTF_8),
                "email,role,org_id,age\n' OR 1=1 --,admin,1,30\n".getBytes(StandardCharsets.UTF_8),
                ("email,role,org_id,age\nx@x.io,admin'; drop table users; --,1,30\n").getBytes(StandardCharsets.UTF_8),
                ("email,role,org_id,age\ny@x.io,member,1e400,30\nz@x.io,member,1,99999999999\n")
                        .getBytes(StandardCharsets.UTF_8),
                ("email,role,org_id,age\n" + "[".repeat(10_000) + "\n").getBytes(StandardCharsets.UTF_8),
                concat(
                        "email,role,org_id,age\nbad".getBytes(StandardCharsets.UTF_8),
                        new byte[] {(byte) 0xC3, 0x28},
                        "@x.io,member,1,30\n".getBytes(StandardCharsets.UTF_8)),
                ("email,role,org_id,age\n\"unterminated@x.io,member,1,30\n").getBytes(StandardCharsets.UTF_8),
                ("email,role,org_id,age\n" + "a".repeat(70_000) + "\n").getBytes(StandardCharsets.UTF_8),
                "{\"email\":\"a@x.io\"}".getBytes(StandardCharsets.UTF_8),
                new byte[] {0, 0, 0, 0},
                "email,role,org_id,age".getBytes(StandardCharsets.UTF_8)));
        byte[] noise = new byte[4096];
        random.nextBytes(noise);
        storedButUseless.add(noise);
        for (byte[] body : storedButUseless) {
            if (body.length > context.importBodyLimit()) {
                add(IMPORTS, "body over the limit", csvUpload(body, List.of()), Expect.REJECT, Set.of(413), true, null);
            } else {
                add(
                        IMPORTS,
                        "hostile CSV " + abbreviate(new String(body, StandardCharsets.ISO_8859_1)),
                        csvUpload(body, List.of()),
                        Expect.ANY,
                        Set.of(202, 400),
                        null);
            }
        }
        add(IMPORTS, "empty body", csvUpload(new byte[0], List.of()), Expect.REJECT, Set.of(400), null);
        for (String key : new String[] {"", " ", "k".repeat(256), "k".repeat(10_000), "\u00ff\u00fe"}) {
            add(
                    IMPORTS,
                    "Idempotency-Key of " + key.length(),
                    csvUpload(
                            "email,role,org_id,age\n".getBytes(StandardCharsets.UTF_8),
                            List.of("Idempotency-Key: " + key)),
                    Expect.REJECT,
                    Set.of(400, 431),
                    null);
        }
        for (String key : new String[] {"' OR 1=1 --", "'; drop table imports; --"}) {
            // Refused as a body without rows would be accepted: a header row only, key with SQL text; stored literally.
            add(
                    IMPORTS,
                    "Idempotency-Key " + key,
                    csvUpload(
                            "email,role,org_id,age\n".getBytes(StandardCharsets.UTF_8),
                            List.of("Idempotency-Key: " + key)),
                    Expect.ANY,
                    Set.of(202),
                    null);
        }
        for (String type : new String[] {
            "application/json",
            "text/plain",
            "application/octet-stream",
            "multipart/form-data; boundary=x",
            "text/csvx",
            "application/x-www-form-urlencoded"
        }) {
            add(
                    IMPORTS,
                    "Content-Type " + type,
                    request(
                            "POST",
                            "/imports",
                            List.of("Content-Type: " + type),
                            "email,role,org_id,age\na@x.io,member,1,30\n".getBytes(StandardCharsets.UTF_8)),
                    Expect.REJECT,
                    Set.of(415),
                    null);
        }
        add(
                IMPORTS,
                "no Content-Type",
                request("POST", "/imports", List.of(), "email,role,org_id,age\n".getBytes(StandardCharsets.UTF_8)),
                Expect.REJECT,
                Set.of(415),
                null);
        add(
                IMPORTS,
                "declared body over the limit",
                headersOnly("POST", "/imports", "text/csv", context.importBodyLimit() + 1),
                Expect.REJECT,
                Set.of(413),
                null);
        byte[] big = new byte[(int) context.importBodyLimit() + 1];
        java.util.Arrays.fill(big, (byte) 'a');
        add(
                IMPORTS,
                "chunked body over the limit",
                chunked("POST", "/imports", "text/csv", big),
                Expect.REJECT,
                Set.of(413),
                true,
                null);
        add(IMPORTS, "body over the limit", csvUpload(big, List.of()), Expect.REJECT, Set.of(413), true, null);
        for (String method : new String[] {"PUT", "DELETE", "PATCH", "GET"}) {
            add(
                    IMPORTS,
                    method + " /imports",
                    request(
                            method,
                            "/imports",
                            List.of("Content-Type: text/csv"),
                            "email,role,org_id,age\n".getBytes(StandardCharsets.UTF_8)),
                    Expect.REJECT,
                    Set.of(405),
                    null);
        }
    }

    private void importReads() {
        String[] ids = {
            "not-a-uuid",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "%27%20OR%201=1%20--",
            "1",
            "-1",
            "%00",
            "%FF",
            "..%2F..%2Fusers",
            "00000000-0000-0000-0000-00000000000",
            "00000000-0000-0000-0000-0000000000000",
            "g0000000-0000-0000-0000-000000000000",
            "{00000000-0000-0000-0000-000000000000}",
            "00000000000000000000000000000000",
            "x".repeat(2_000),
            "00000000-0000-0000-0000-000000000000;drop%20table%20imports",
            ""
        };
        for (String id : ids) {
            add(IMPORT, "id " + abbreviate(id), get("/imports/" + id, List.of()), Expect.ANY, Set.of(), null);
        }
        for (int i = 0; i < 15; i++) {
            add(
                    IMPORT,
                    "random uuid",
                    get("/imports/" + new java.util.UUID(random.nextLong(), random.nextLong()), List.of()),
                    Expect.REJECT,
                    Set.of(404),
                    null);
        }
        add(IMPORT, "valid", get("/imports/" + context.importId(), List.of()), Expect.ACCEPT, Set.of(200), null);
        add(
                IMPORT,
                "POST",
                request(
                        "POST",
                        "/imports/" + context.importId(),
                        List.of("Content-Type: text/csv"),
                        "x".getBytes(StandardCharsets.UTF_8)),
                Expect.REJECT,
                Set.of(405),
                null);
        add(
                IMPORT,
                "invalid UTF-8 in path",
                raw(
                        concat(
                                "GET /imports/".getBytes(StandardCharsets.US_ASCII),
                                new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                                " HTTP/1.1".getBytes(StandardCharsets.US_ASCII)),
                        List.of(),
                        null),
                Expect.REJECT,
                Set.of(),
                null);
    }

    // ---------------------------------------------------------------- malformed HTTP and oversized headers

    private void malformedHttp() {
        String[] lines = {
            "GARBAGE",
            "GET",
            "GET /users/1 HTTP/1.1 extra",
            "GET  /users/1 HTTP/1.1",
            "get /users/1 HTTP/1.1",
            "G\u0000T /users/1 HTTP/1.1",
            "GET users/1 HTTP/1.1",
            "GET http://evil.example/users/1 HTTP/1.1",
            "GET * HTTP/1.1",
            "GET /users/<script> HTTP/1.1",
            "GET /users/1\u0007 HTTP/1.1",
            "CONNECT 127.0.0.1:5432 HTTP/1.1",
            "GET /" + "a".repeat(200) + "\u00ff HTTP/1.1",
            "XYZ".repeat(40) + " /users/1 HTTP/1.1",
            "GET /users/1 HTTP/1.1\r\nHost: a\r\nHost: b",
            "GET /users/%%% HTTP/1.1",
            "GET /users/%zz HTTP/1.1"
        };
        for (String line : lines) {
            add(
                    HTTP,
                    "request line " + abbreviate(line),
                    raw(line.getBytes(StandardCharsets.ISO_8859_1), List.of(), null),
                    Expect.ANY,
                    Set.of(),
                    true,
                    null);
        }
        // HTTP/0.9 (no version), an unknown version or protocol: 505 HTTP Version Not Supported is the protocol's
        // answer.
        for (String line : new String[] {
            "GET /users/" + context.userId(),
            "GET /users/" + context.userId() + " HTTP/9.9",
            "GET /users/" + context.userId() + " FTP/1.0"
        }) {
            add(
                    HTTP,
                    "request line " + line,
                    raw(line.getBytes(StandardCharsets.ISO_8859_1), List.of(), null),
                    Expect.REJECT,
                    Set.of(400, 505),
                    true,
                    null);
        }
        String[][] headerSets = {
            {"NoColonHeader"},
            {"Bad Header: x"},
            {": empty-name"},
            {"X-Null: a\u0000b"},
            {"X-Ctl: a\u0001b"},
            {"Content-Length: -1"},
            {"Content-Length: abc"},
            {"Content-Length: 1, 2"},
            {"Content-Length: 99999999999999999999999"},
            {"Transfer-Encoding: gzip"},
            {"Transfer-Encoding: chunked, identity"},
            {"Content-Length: 3", "Transfer-Encoding: chunked"},
            {"Content-Length: 3", "Content-Length: 4"},
            {" Folded: header", "X: y"},
            {"X-Folded: a", " continued"},
            {"Expect: 100-banana"},
            {"Expect: 100-continue"},
            {"Content-Type: application/json", "Content-Encoding: gzip"},
            {"Content-Type: application/json", "Content-Encoding: x-unknown"},
            {"X-Latin1: \u00ff\u00fe\u00e9"}
        };
        for (String[] headers : headerSets) {
            boolean post = String.join("", headers).contains("Content");
            byte[] body = post
                    ? "{\"email\":\"h@x.io\",\"role\":\"member\",\"orgId\":1,\"age\":999}"
                            .getBytes(StandardCharsets.UTF_8)
                    : null;
            add(
                    HTTP,
                    "headers " + abbreviate(String.join(" | ", headers)),
                    rawWithoutLength(
                            ((post ? "POST /users" : "GET /users/" + context.userId()) + " HTTP/1.1")
                                    .getBytes(StandardCharsets.ISO_8859_1),
                            List.of(headers),
                            body),
                    Expect.ANY,
                    Set.of(),
                    true,
                    null);
        }
        add(
                HTTP,
                "missing Host",
                ("GET /users/" + context.userId() + " HTTP/1.1\r\n" + keyHeader + "\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII),
                Expect.REJECT,
                Set.of(400),
                true,
                null);
        add(
                HTTP,
                "HTTP/1.0 without Host",
                ("GET /users/" + context.userId() + " HTTP/1.0\r\n" + keyHeader + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII),
                Expect.ANY,
                Set.of(),
                true,
                null);
        add(
                HTTP,
                "bad chunk size",
                ("POST /users HTTP/1.1\r\nHost: x\r\n" + keyHeader
                                + "\r\nConnection: close\r\nContent-Type: application/json\r\n"
                                + "Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII),
                Expect.REJECT,
                Set.of(),
                true,
                null);
        add(
                HTTP,
                "huge chunk size",
                ("POST /users HTTP/1.1\r\nHost: x\r\n" + keyHeader
                                + "\r\nConnection: close\r\nContent-Type: application/json\r\n"
                                + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII),
                Expect.REJECT,
                Set.of(),
                true,
                null);
        add(
                HTTP,
                "smuggling: chunked then a second request",
                ("POST /users HTTP/1.1\r\nHost: x\r\n" + keyHeader + "\r\n"
                                + "Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                                + "DELETE /users/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII),
                Expect.REJECT,
                Set.of(),
                true,
                null);
        add(
                HTTP,
                "HTTP/2 preface on HTTP/1.1",
                "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                Expect.ANY,
                Set.of(),
                true,
                null);
        add(
                HTTP,
                "TLS hello on plain HTTP",
                new byte[] {
                    0x16,
                    0x03,
                    0x01,
                    0x00,
                    (byte) 0xa5,
                    0x01,
                    0x00,
                    0x00,
                    (byte) 0xa1,
                    0x03,
                    0x03,
                    '\r',
                    '\n',
                    '\r',
                    '\n'
                },
                Expect.ANY,
                Set.of(),
                true,
                null);
        byte[] binary = new byte[512];
        random.nextBytes(binary);
        add(
                HTTP,
                "random bytes",
                concat(binary, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII)),
                Expect.ANY,
                Set.of(),
                true,
                null);
    }

    private void oversizedHeaders() {
        String path = "/users/" + context.userId();
        add(
                HTTP,
                "64 KB header",
                get(path, List.of("X-Big: " + "a".repeat(64 * 1024))),
                Expect.REJECT,
                Set.of(431),
                true,
                null);
        add(
                HTTP,
                "64 KB consistency token",
                get(path, List.of("X-Consistency-Token: " + "0".repeat(64 * 1024))),
                Expect.REJECT,
                Set.of(431),
                true,
                null);
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            many.add("X-H" + i + ": " + "v".repeat(60));
        }
        add(HTTP, "1,000 headers", get(path, many), Expect.REJECT, Set.of(431), true, null);
        add(
                HTTP,
                "9 KB header",
                get(path, List.of("X-Big: " + "a".repeat(9 * 1024))),
                Expect.REJECT,
                Set.of(431),
                true,
                null);
        add(
                HTTP,
                "64 KB cookie",
                get(path, List.of("Cookie: a=" + "b".repeat(64 * 1024))),
                Expect.REJECT,
                Set.of(431),
                true,
                null);
        add(
                HTTP,
                "64 KB URI on /users",
                get("/users/" + "1".repeat(64 * 1024), List.of()),
                Expect.REJECT,
                Set.of(414, 431),
                true,
                null);
        add(
                HTTP,
                "64 KB query on /transactions",
                get("/transactions?from=" + "2".repeat(64 * 1024), List.of()),
                Expect.REJECT,
                Set.of(414, 431),
                true,
                null);
        add(
                HTTP,
                "64 KB query on /transactions/summary",
                get("/transactions/summary?to=" + "x".repeat(64 * 1024), List.of()),
                Expect.REJECT,
                Set.of(414, 431),
                true,
                null);
        add(
                HTTP,
                "64 KB path on /orgs",
                get("/orgs/" + "9".repeat(64 * 1024) + "/stats", List.of()),
                Expect.REJECT,
                Set.of(414, 431),
                true,
                null);
        add(
                HTTP,
                "64 KB path on /imports",
                get("/imports/" + "f".repeat(64 * 1024), List.of()),
                Expect.REJECT,
                Set.of(414, 431),
                true,
                null);
        add(
                HTTP,
                "64 KB Idempotency-Key",
                csvUpload(
                        "email,role,org_id,age\n".getBytes(StandardCharsets.UTF_8),
                        List.of("Idempotency-Key: " + "k".repeat(64 * 1024))),
                Expect.REJECT,
                Set.of(431),
                true,
                null);
    }

    private void otherPaths() {
        String[] paths = {
            "/",
            "/nope",
            "/admin",
            "/metrics",
            "/healthcheck",
            "/tasks/gc",
            "/prometheus",
            "/dashboard",
            "/../../etc/passwd",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/WEB-INF/web.xml",
            "/users",
            "/orgs",
            "/orgs/1",
            "/transactions/summary/x",
            "/imports",
            "/users/1/../../tasks",
            "//users//1",
            "/users/1/",
            "/USERS/1",
            "/users;jsessionid=1/1",
            "/.git/config",
            "/favicon.ico",
            "/robots.txt",
            "/%00",
            "/%FF"
        };
        for (String p : paths) {
            add(OTHER, p, get(p, List.of()), Expect.ANY, Set.of(), null);
        }
        add(
                OTHER,
                "POST /tasks/gc on the application port",
                request("POST", "/tasks/gc", List.of(), new byte[0]),
                Expect.REJECT,
                Set.of(),
                null);
    }

    // ---------------------------------------------------------------- authentication

    /** One route's request, valid but for its credentials: what the authentication attacks are sent as. */
    private record Probe(String route, String method, String target, String contentType, byte[] body) {}

    private List<Probe> probes() {
        String hour = Instant.now()
                .minus(1, ChronoUnit.HOURS)
                .truncatedTo(ChronoUnit.SECONDS)
                .toString();
        return List.of(
                new Probe(
                        USERS,
                        "POST",
                        "/users",
                        "application/json",
                        user(q(email()), q("member"), num(context.orgId()), "30")
                                .getBytes(StandardCharsets.UTF_8)),
                new Probe(USER, "GET", "/users/" + context.userId(), null, null),
                new Probe(STATS, "GET", "/orgs/" + context.orgId() + "/stats", null, null),
                new Probe(
                        NEW_TRANSACTION,
                        "POST",
                        "/transactions",
                        "application/json",
                        transaction(String.valueOf(context.userId()), q("3.50"), q(hour))
                                .getBytes(StandardCharsets.UTF_8)),
                new Probe(TRANSACTIONS, "GET", "/transactions?limit=5", null, null),
                new Probe(
                        SUMMARY,
                        "GET",
                        "/transactions/summary?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z",
                        null,
                        null),
                new Probe(
                        IMPORTS,
                        "POST",
                        "/imports",
                        "text/csv",
                        ("email,role,org_id,age\nauth" + next()
                                        + "@hostile.io,member," + context.orgId() + ",30\nauth" + next()
                                        + "@hostile.io,viewer,"
                                        + context.orgId() + ",31\n")
                                .getBytes(StandardCharsets.UTF_8)),
                new Probe(IMPORT, "GET", "/imports/" + context.importId(), null, null));
    }

    /**
     * What an attacker tries against the key, on every route: each is refused with the API's 401
     * ({@link #UNAUTHENTICATED_BODY}, {@code WWW-Authenticate: Bearer ...}) and writes nothing. The
     * scheme's case is not one of them: {@code bearer} and {@code BEARER} are the scheme too (HTTP
     * schemes are case-insensitive), and are served.
     */
    private void authentication() {
        String key = context.key();
        String wrongChecksum = withWrongChecksum(key);
        String middle = key.substring(0, 20);
        String rest = key.substring(21);
        StringBuilder long10k = new StringBuilder("fk_");
        StringBuilder long6k = new StringBuilder("fk_");
        String base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        while (long10k.length() < 10 * 1024) {
            long10k.append(base62.charAt(random.nextInt(base62.length())));
        }
        while (long6k.length() < 6 * 1024) {
            long6k.append(base62.charAt(random.nextInt(base62.length())));
        }
        String basic = java.util.Base64.getEncoder().encodeToString(("api:" + key).getBytes(StandardCharsets.US_ASCII));
        for (Probe probe : probes()) {
            List<String[]> attacks = List.of(
                    new String[] {"Basic credentials", "Authorization: Basic " + basic},
                    new String[] {"Bearer with nothing after it", "Authorization: Bearer"},
                    new String[] {"Bearer and a space", "Authorization: Bearer "},
                    new String[] {"Bearer and 6 KiB", "Authorization: Bearer " + long6k},
                    new String[] {"the key with a wrong checksum", "Authorization: Bearer " + wrongChecksum},
                    new String[] {"the key truncated", "Authorization: Bearer " + key.substring(0, key.length() - 1)},
                    new String[] {"the key and one more character", "Authorization: Bearer " + key + "A"},
                    new String[] {"the key with a Latin-1 letter", "Authorization: Bearer " + middle + "\u00e9" + rest},
                    new String[] {
                        "the key with a UTF-8 letter", "Authorization: Bearer " + middle + "\u00c3\u00a9" + rest
                    },
                    new String[] {"the key with a tab", "Authorization: Bearer " + middle + "\t" + rest},
                    new String[] {"the key without a scheme", "Authorization: " + key},
                    new String[] {"the key under another scheme", "Authorization: Token " + key},
                    new String[] {"the key's prefix only", "Authorization: Bearer " + key.substring(0, 11)},
                    new String[] {"SQL as the key", "Authorization: Bearer ' OR 1=1 --"},
                    new String[] {
                        "two Authorization headers, the valid one first",
                        "Authorization: Bearer " + key,
                        "Authorization: Bearer " + wrongChecksum
                    },
                    new String[] {
                        "two Authorization headers, the valid one second",
                        "Authorization: Bearer " + wrongChecksum,
                        "Authorization: Bearer " + key
                    },
                    new String[] {
                        "two Authorization headers, the same valid key",
                        "Authorization: Bearer " + key,
                        "Authorization: Bearer " + key
                    });
            for (String[] attack : attacks) {
                unauthenticated(
                        probe, attack[0], withCredentials(probe, List.of(attack).subList(1, attack.length)));
            }
            unauthenticated(
                    probe,
                    "no Authorization header",
                    anonymous(probe.method(), probe.target(), contentType(probe), probe.body()));
            String separator = probe.target().contains("?") ? "&" : "?";
            unauthenticated(
                    probe,
                    "the key in the query string (access_token)",
                    anonymous(
                            probe.method(),
                            probe.target() + separator + "access_token=" + key,
                            contentType(probe),
                            probe.body()));
            // Past the server's header size limit: refused before any authentication, in the API's shape.
            add(
                    probe.route(),
                    AUTH + ": Bearer and 10 KiB",
                    withCredentials(probe, List.of("Authorization: Bearer " + long10k)),
                    Expect.REJECT,
                    Set.of(401, 431),
                    true,
                    null);
            // A control character no header may carry: the HTTP parser refuses the request (400) if
            // the key check does not (401); either is a refusal in the API's shape.
            for (String control : new String[] {"\u0000", "\u0001", "\u007f"}) {
                add(
                        probe.route(),
                        AUTH + ": the key with control character " + (int) control.charAt(0),
                        withCredentials(probe, List.of("Authorization: Bearer " + middle + control + rest)),
                        Expect.REJECT,
                        Set.of(400, 401),
                        true,
                        null);
            }
        }
        for (String scheme : new String[] {"bearer", "BEARER", "bEaReR"}) {
            for (Probe probe : probes()) { // new writes each time: another email, transaction and import
                add(
                        probe.route(),
                        AUTH + ": the scheme as " + scheme,
                        withCredentials(probe, List.of("Authorization: " + scheme + " " + key)),
                        Expect.ACCEPT,
                        Set.of(
                                probe.method().equals("GET")
                                        ? 200
                                        : probe.route().equals(IMPORTS) ? 202 : 201),
                        probe.route().equals(USERS) ? emailOf(probe) : null);
            }
        }
        unauthenticatedMalformedBodies();
    }

    /**
     * Malformed bodies without a key, and with a key that is not one: the caller learns nothing of
     * the body's faults (no 400, 413, 415 or 422) before it has authenticated.
     */
    private void unauthenticatedMalformedBodies() {
        String validUser = user(q(email()), q("member"), num(context.orgId()), "30");
        List<byte[]> users = new ArrayList<>();
        brokenJson(validUser).stream().limit(25).forEach(b -> users.add(b.getBytes(StandardCharsets.UTF_8)));
        for (String body : new String[] {
            user(q("not-an-email"), q("member"), "1", "30"),
            user(q(email()), q("owner"), "1", "30"),
            user(q(email()), q("member"), "1", "151"),
            user(q(email()), q("member"), "\"abc\"", "30"),
            user(q(email()), q("member"), "1e400", "30"),
            user(q(email()), q("admin"), num(otherOrg()), "30"),
            validUser.replace("}", ",\"age\":999}"),
            "[".repeat(2_000) + "]".repeat(2_000),
            "null",
            "",
            "{}"
        }) {
            users.add(body.getBytes(StandardCharsets.UTF_8));
        }
        users.add(concat(
                "{\"email\":\"u".getBytes(StandardCharsets.UTF_8),
                new byte[] {(byte) 0xC3, 0x28},
                "@x.io\",\"role\":\"member\",\"orgId\":1,\"age\":30}".getBytes(StandardCharsets.UTF_8)));
        String validTransaction = transaction(String.valueOf(context.userId()), q("12.50"), q(recent().toString()));
        List<byte[]> transactions = new ArrayList<>();
        brokenJson(validTransaction).stream()
                .limit(15)
                .forEach(b -> transactions.add(b.getBytes(StandardCharsets.UTF_8)));
        for (String body : new String[] {
            transaction("0", q("12.50"), q(recent().toString())),
            transaction("999999999", q("12.50"), q(recent().toString())),
            transaction(String.valueOf(context.userId()), q("1e400"), q(recent().toString())),
            transaction(String.valueOf(context.userId()), q("12.50"), q("+294277-01-01T00:00:00Z")),
            transaction(String.valueOf(context.userId()), q("12.50"), q("1999-01-01T00:00:00Z")),
            "{}",
            ""
        }) {
            transactions.add(body.getBytes(StandardCharsets.UTF_8));
        }
        List<byte[]> csvs = List.of(
                new byte[0],
                "not,a,csv\n".getBytes(StandardCharsets.UTF_8),
                "email,role,org_id,age\n' OR 1=1 --,admin,1,30\n".getBytes(StandardCharsets.UTF_8),
                concat(
                        "email,role,org_id,age\nbad".getBytes(StandardCharsets.UTF_8),
                        new byte[] {(byte) 0xFF},
                        "@x.io,member,1,30\n".getBytes(StandardCharsets.UTF_8)));
        String notAKey = "Authorization: Bearer " + withWrongChecksum(context.key());
        for (List<String> credentials : List.of(List.<String>of(), List.of(notAKey))) {
            String how = credentials.isEmpty() ? "no key" : "a key that is not one";
            for (byte[] body : users) {
                unauthenticatedBody(
                        USERS,
                        how + ", malformed body " + abbreviate(new String(body, StandardCharsets.UTF_8)),
                        "/users",
                        List.of("Content-Type: application/json"),
                        credentials,
                        body);
            }
            for (byte[] body : transactions) {
                unauthenticatedBody(
                        NEW_TRANSACTION,
                        how + ", malformed body " + abbreviate(new String(body, StandardCharsets.UTF_8)),
                        "/transactions",
                        List.of("Content-Type: application/json"),
                        credentials,
                        body);
            }
            for (byte[] body : csvs) {
                unauthenticatedBody(
                        IMPORTS,
                        how + ", CSV " + abbreviate(new String(body, StandardCharsets.ISO_8859_1)),
                        "/imports",
                        List.of("Content-Type: text/csv"),
                        credentials,
                        body);
            }
            // Bad headers the resource would refuse (Idempotency-Key), and a declared size over the limit.
            unauthenticatedBody(
                    USERS,
                    how + ", empty Idempotency-Key",
                    "/users",
                    List.of("Content-Type: application/json", "Idempotency-Key: "),
                    credentials,
                    validUser.getBytes(StandardCharsets.UTF_8));
            unauthenticatedBody(
                    IMPORTS,
                    how + ", 256-character Idempotency-Key",
                    "/imports",
                    List.of("Content-Type: text/csv", "Idempotency-Key: " + "k".repeat(256)),
                    credentials,
                    "email,role,org_id,age\n".getBytes(StandardCharsets.UTF_8));
            List<String> declared = new ArrayList<>(credentials);
            declared.addAll(
                    List.of("Content-Type: application/json", "Content-Length: " + (context.userBodyLimit() + 1)));
            add(
                    USERS,
                    AUTH + ": " + how + ", declared body over the limit",
                    exactly("POST /users HTTP/1.1".getBytes(StandardCharsets.US_ASCII), declared, null),
                    Expect.REJECT,
                    Set.of(401),
                    true,
                    null);
        }
    }

    /** The key with its last character, part of its checksum, changed. */
    private static String withWrongChecksum(String key) {
        char last = key.charAt(key.length() - 1);
        return key.substring(0, key.length() - 1) + (last == 'A' ? 'B' : 'A');
    }

    private void unauthenticated(Probe probe, String what, byte[] request) {
        add(probe.route(), AUTH + ": " + what, request, Expect.REJECT, Set.of(401), null);
    }

    private void unauthenticatedBody(
            String route, String what, String path, List<String> headers, List<String> credentials, byte[] body) {
        List<String> all = new ArrayList<>(credentials);
        all.addAll(headers);
        add(
                route,
                AUTH + ": " + what,
                exactly(
                        ("POST " + path + " HTTP/1.1").getBytes(StandardCharsets.US_ASCII),
                        withLength(all, body),
                        body),
                Expect.REJECT,
                Set.of(401),
                null);
    }

    /** The probe's request with exactly {@code credentials} as its Authorization header(s). */
    private static byte[] withCredentials(Probe probe, List<String> credentials) {
        List<String> headers = new ArrayList<>(credentials);
        headers.addAll(contentType(probe));
        return exactly(
                (probe.method() + " " + probe.target() + " HTTP/1.1").getBytes(StandardCharsets.ISO_8859_1),
                withLength(headers, probe.body()),
                probe.body());
    }

    private static List<String> contentType(Probe probe) {
        return probe.contentType() == null ? List.of() : List.of("Content-Type: " + probe.contentType());
    }

    private static String emailOf(Probe probe) {
        return new String(probe.body(), StandardCharsets.UTF_8).replaceAll(".*\"email\":\"([^\"]+)\".*", "$1");
    }

    // ---------------------------------------------------------------- building blocks

    private static final ObjectMapper STRICT =
            new ObjectMapper().enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final String DAMAGE = "{}[]\":,\\'\u0000\u00ff";

    private List<String> brokenJson(String valid) {
        List<String> broken = new ArrayList<>(List.of(
                valid.substring(0, valid.length() - 1),
                valid.substring(1),
                valid.replace(":", ""),
                valid.replace("\"", "'"),
                valid.replace(",", ",,"),
                valid.replace("}", ",}"),
                valid + "}",
                valid + valid,
                valid + "garbage",
                "{" + valid,
                valid.replace("{", "{/*c*/"),
                valid.replace("{", "{// c\n"),
                "\uFEFF" + valid.replace("{", "{{"),
                "{\"email\"}",
                "{\"email\":}",
                "{:1}",
                "{\"a\" 1}",
                "[",
                "]",
                "{",
                "}",
                "\"",
                "'",
                "nul",
                "tru",
                "NaN",
                "undefined",
                "{\"email\":\"a@x.io\",\"age\":NaN}",
                "{\"age\":Infinity}",
                "{\"age\":01}",
                "{\"age\":1.}",
                "{\"age\":.5}",
                "{\"age\":+1}",
                "{\"age\":0x1}",
                "<xml/>",
                "email=a@x.io&role=member",
                "\u0000",
                "{\"email\":\"a@x.io\"\"role\":\"member\"}",
                "{\"email\":\"\\x41@x.io\"}",
                "{\"email\":\"\\u12\"}",
                "{\"email\":\"\\\"}",
                "[" + valid + "]",
                "123",
                "\"string\"",
                "true",
                "[]",
                "[{}]"));
        for (int i = 0; i < 40; i++) {
            // Random single-character damage at a random place.
            StringBuilder s = new StringBuilder(valid);
            int at = random.nextInt(s.length());
            switch (random.nextInt(3)) {
                case 0 -> s.deleteCharAt(at);
                case 1 -> s.insert(at, DAMAGE.charAt(random.nextInt(DAMAGE.length())));
                default -> s.setLength(at);
            }
            if (!s.toString().equals(valid)) {
                broken.add(s.toString());
            }
        }
        return broken;
    }

    /**
     * Random damage can leave a well-formed object that is still a valid request ("h1@hostile}.io"
     * is an email to Bean Validation): such a case may be accepted. Anything else must be refused.
     */
    private static Expect expectFor(String body) {
        try {
            JsonNode node = STRICT.readTree(body);
            return node != null && node.isObject() ? Expect.ANY : Expect.REJECT;
        } catch (java.io.IOException notJson) {
            return Expect.REJECT;
        }
    }

    private void reject(String route, String what, byte[] request) {
        add(route, what, request, Expect.REJECT, Set.of(), null);
    }

    private void add(String route, String what, byte[] bytes, Expect expect, Set<Integer> statuses, String email) {
        add(route, what, bytes, expect, statuses, false, email);
    }

    private void add(
            String route,
            String what,
            byte[] bytes,
            Expect expect,
            Set<Integer> statuses,
            boolean mayClose,
            String email) {
        out.add(new Request(route, what, bytes, expect, statuses, mayClose, email));
    }

    private static String user(String email, String role, String orgId, String age) {
        return "{\"email\":" + email + ",\"role\":" + role + ",\"orgId\":" + orgId + ",\"age\":" + age + "}";
    }

    private static String transaction(String userId, String amount, String createdAt) {
        return "{\"userId\":" + userId + ",\"amount\":" + amount + ",\"createdAt\":" + createdAt + "}";
    }

    private static String q(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String num(long n) {
        return String.valueOf(n);
    }

    private String email() {
        return "h" + next() + "@hostile.io";
    }

    private String role() {
        return new String[] {"admin", "member", "viewer"}[random.nextInt(3)];
    }

    /** An organisation that is not the key's. */
    private long otherOrg() {
        return context.orgId() + 1 + random.nextInt(20);
    }

    private long age() {
        return random.nextInt(151);
    }

    private String amount() {
        return random.nextInt(100_000) + "." + String.format("%02d", random.nextInt(100));
    }

    /** An instant in the last 300 days: inside the kept partitions. */
    private Instant recent() {
        return Instant.now().minus(random.nextInt(300 * 24), ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
    }

    private int next() {
        return ++sequence;
    }

    private String randomPathSegment() {
        String alphabet = "abcXYZ019-_.~%!$&'()*+,;=:@";
        StringBuilder s = new StringBuilder();
        for (int i = 0, n = 1 + random.nextInt(30); i < n; i++) {
            char c = alphabet.charAt(random.nextInt(alphabet.length()));
            s.append(c == '%' ? "%" + String.format("%02X", random.nextInt(256)) : String.valueOf(c));
        }
        return s.toString();
    }

    private static String abbreviate(String text) {
        String oneLine = text.replaceAll("\\p{Cntrl}", "?");
        return oneLine.length() > 60 ? oneLine.substring(0, 60) + "..." : oneLine;
    }

    private byte[] json(String path, String body) {
        return json(path, body.getBytes(StandardCharsets.UTF_8));
    }

    private byte[] json(String path, byte[] body) {
        return request("POST", path, List.of("Content-Type: application/json"), body);
    }

    private byte[] csvUpload(byte[] body, List<String> headers) {
        List<String> all = new ArrayList<>(headers);
        all.add("Content-Type: text/csv");
        return request("POST", "/imports", all, body);
    }

    private byte[] get(String target, List<String> headers) {
        return request("GET", target, headers, null);
    }

    /** A request with Host, Connection: close, the key (unless it has an Authorization of its own) and, with a body, its Content-Length. */
    private byte[] request(String method, String target, List<String> headers, byte[] body) {
        return raw((method + " " + target + " HTTP/1.1").getBytes(StandardCharsets.ISO_8859_1), headers, body);
    }

    private byte[] raw(byte[] requestLine, List<String> headers, byte[] body) {
        return rawWithoutLength(requestLine, withLength(headers, body), body);
    }

    private byte[] rawWithoutLength(byte[] requestLine, List<String> headers, byte[] body) {
        boolean ownCredentials = headers.stream().anyMatch(h -> h.regionMatches(true, 0, "Authorization:", 0, 14));
        List<String> all = new ArrayList<>();
        if (!ownCredentials) {
            all.add(keyHeader);
        }
        all.addAll(headers);
        return exactly(requestLine, all, body);
    }

    /** As {@link #request}, with no Authorization header at all. */
    private static byte[] anonymous(String method, String target, List<String> headers, byte[] body) {
        return exactly(
                (method + " " + target + " HTTP/1.1").getBytes(StandardCharsets.ISO_8859_1),
                withLength(headers, body),
                body);
    }

    private static List<String> withLength(List<String> headers, byte[] body) {
        List<String> all = new ArrayList<>(headers);
        if (body != null) {
            all.add("Content-Length: " + body.length);
        }
        return all;
    }

    /** The request line, Host, Connection: close, then exactly {@code headers} and {@code body}. */
    private static byte[] exactly(byte[] requestLine, List<String> headers, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(requestLine);
        out.writeBytes("\r\nHost: 127.0.0.1\r\nConnection: close\r\n".getBytes(StandardCharsets.US_ASCII));
        for (String header : headers) {
            out.writeBytes((header + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        if (body != null) {
            out.writeBytes(body);
        }
        return out.toByteArray();
    }

    /** Only the headers, declaring a body over the limit: refused before any body is read. */
    private byte[] headersOnly(String method, String path, String type, long length) {
        return rawWithoutLength(
                (method + " " + path + " HTTP/1.1").getBytes(StandardCharsets.US_ASCII),
                List.of("Content-Type: " + type, "Content-Length: " + length),
                null);
    }

    private byte[] chunked(String method, String path, String type, byte[] body) {
        ByteArrayOutputStream chunks = new ByteArrayOutputStream();
        for (int at = 0; at < body.length; at += 1024) {
            int n = Math.min(1024, body.length - at);
            chunks.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            chunks.write(body, at, n);
            chunks.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        chunks.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return rawWithoutLength(
                (method + " " + path + " HTTP/1.1").getBytes(StandardCharsets.US_ASCII),
                List.of("Content-Type: " + type, "Transfer-Encoding: chunked"),
                chunks.toByteArray());
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
