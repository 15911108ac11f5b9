package dev.fortress;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.auth.ApiKeyDao;
import dev.fortress.auth.ApiKeyStore;
import dev.fortress.auth.Scopes;
import dev.fortress.db.ConsistencyTokenDao;
import dev.fortress.db.Databases;
import dev.fortress.db.JdbcUrls;
import dev.fortress.db.StatementMetrics;
import io.dropwizard.core.cli.ConfiguredCommand;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import net.sourceforge.argparse4j.inf.Namespace;
import net.sourceforge.argparse4j.inf.Subparser;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/**
 * {@code keys create|list|revoke ... config.yml}: API keys, as an operator scripts them (docs/api.md).
 * <ul>
 *   <li>{@code keys create --org 7 --scopes read,write [--expires 90d] [--rate 50/s] config.yml} prints the key
 *       once, alone on the last line, once the replicas named in {@code readerDatabase.url} have it
 *       (instances look keys up there); {@code --org 1-1000} makes one key per organisation and
 *       prints one line {@code <org> <key>} each;</li>
 *   <li>{@code keys list --org 7 config.yml}: ids, prefixes, scopes, rate, expiry, last use, state;</li>
 *   <li>{@code keys revoke <key id or key> config.yml}: revokes it, then waits until the replicas
 *       named in {@code readerDatabase.url} have replayed the revocation, so that every instance
 *       refuses the key within {@code auth.revocationCheckInterval} of the command's return.</li>
 * </ul>
 */
public final class KeysCommand extends ConfiguredCommand<FortressConfiguration> {

    private static final String ACTION = "action";
    /** {@code --org 1-1000} at most: one key per organisation is for benchmarks and tests. */
    static final int MAX_RANGE = 100_000;

    public KeysCommand() {
        super("keys", "Creates, lists and revokes API keys");
    }

    @Override
    public void configure(Subparser subparser) {
        Subparser create = subparser
                .addSubparsers()
                .addParser("create")
                .setDefault(ACTION, "create")
                .description("Creates a key and prints it once, on the last line");
        addFileArgument(create);
        create.addArgument("--org")
                .required(true)
                .help("the organisation id, or a range a-b for one key per organisation");
        create.addArgument("--scopes").required(true).help("comma-separated: " + String.join(",", Scopes.ALL));
        create.addArgument("--expires").help("lifetime, e.g. 90d, 12h, 30m (default: never)");
        create.addArgument("--rate")
                .help(
                        "the key's request rate across all instances, e.g. 50/s or 600/m (default: rateLimits.requestsPerSecond)");
        create.addArgument("--wait")
                .setDefault("10s")
                .help(
                        "how long to wait for the replicas to have the key, so it works everywhere at once (default 10s)");

        Subparser list = subparser
                .addSubparsers()
                .addParser("list")
                .setDefault(ACTION, "list")
                .description("Lists an organisation's keys (never the keys themselves)");
        addFileArgument(list);
        list.addArgument("--org").type(Long.class).required(true).help("the organisation id");

        Subparser revoke = subparser
                .addSubparsers()
                .addParser("revoke")
                .setDefault(ACTION, "revoke")
                .description("Revokes a key; every instance refuses it within auth.revocationCheckInterval");
        revoke.addArgument("key").help("the key's id (keys list) or the key itself");
        revoke.addArgument("--wait")
                .setDefault("10s")
                .help("how long to wait for the replicas to replay the revocation (default 10s)");
        addFileArgument(revoke);
    }

    @Override
    protected void run(
            Bootstrap<FortressConfiguration> bootstrap, Namespace namespace, FortressConfiguration configuration)
            throws Exception {
        PrintStream out = System.out;
        MetricRegistry metrics = new MetricRegistry();
        ManagedDataSource pool = configuration.getWriterDatabase().build(metrics, "keys");
        pool.start();
        try {
            Jdbi writer =
                    Databases.configure(Jdbi.create(pool), new StatementMetrics(metrics, "keys", Duration.ofHours(1)));
            ApiKeyStore store = new ApiKeyStore(writer);
            switch (namespace.getString(ACTION)) {
                case "create" -> create(out, store, writer, configuration, namespace);
                case "list" -> list(out, store, namespace.getLong("org"));
                default ->
                    revoke(
                            out,
                            store,
                            writer,
                            configuration,
                            namespace.getString("key"),
                            io.dropwizard.util.Duration.parse(namespace.getString("wait")));
            }
        } finally {
            pool.stop();
        }
    }

    /**
     * Makes the keys, waits (up to --wait) until the replicas have them, since instances look keys up
     * there and a key they do not have yet is refused, then prints them: stdout is the keys alone
     * (after one line on a single key), a replica that is behind is said on stderr.
     */
    private static void create(
            PrintStream out, ApiKeyStore store, Jdbi writer, FortressConfiguration configuration, Namespace namespace)
            throws InterruptedException {
        long[] orgs = orgs(namespace.getString("org"));
        Set<String> scopes = Scopes.parse(namespace.getString("scopes"));
        io.dropwizard.util.Duration wait = io.dropwizard.util.Duration.parse(namespace.getString("wait"));
        String lifetime = namespace.getString("expires");
        Instant expires = lifetime == null
                ? null
                : Instant.now()
                        .plusMillis(io.dropwizard.util.Duration.parse(lifetime).toMilliseconds())
                        .truncatedTo(ChronoUnit.SECONDS);
        String rateGiven = namespace.getString("rate");
        Double rate = rateGiven == null ? null : rate(rateGiven);
        List<ApiKeyStore.Created> keys = new ArrayList<>();
        for (long org : orgs) {
            keys.add(store.create(org, scopes, expires, rate));
        }
        List<String> behind = waitForReplicas(configuration.getReaderDatabase(), writerPosition(writer), wait);
        if (!behind.isEmpty()) {
            System.err.printf(
                    "WARNING: the replicas %s do not have the new key(s) after %s: instances reading keys "
                            + "there refuse them (401) until they have%n",
                    String.join(", ", behind), wait);
        }
        if (keys.size() == 1) {
            ApiKeyStore.Created key = keys.get(0);
            out.printf(
                    "created key %d (%s...) of organisation %d, scopes %s, %s, %s%n",
                    key.id(),
                    key.key().substring(0, 11),
                    key.orgId(),
                    String.join(",", key.scopes()),
                    expires == null ? "never expires" : "expires " + expires,
                    rate == null ? "default rate" : "rate " + shownRate(rate));
            out.println(key.key());
            return;
        }
        for (ApiKeyStore.Created key : keys) {
            out.println(key.orgId() + " " + key.key());
        }
    }

    private static String writerPosition(Jdbi writer) {
        return writer.withExtension(ConsistencyTokenDao.class, ConsistencyTokenDao::writerPosition);
    }

    /** {@code 50/s}, {@code 600/m} or {@code 3600/h}: requests per second. */
    static double rate(String given) {
        String[] parts = given.strip().split("/", -1);
        try {
            if (parts.length != 2) {
                throw new IllegalArgumentException();
            }
            double count = Double.parseDouble(parts[0].strip());
            double seconds = switch (parts[1].strip()) {
                case "s" -> 1;
                case "m" -> 60;
                case "h" -> 3600;
                default -> throw new IllegalArgumentException();
            };
            double perSecond = count / seconds;
            if (!(perSecond > 0) || perSecond > dev.fortress.auth.RateLimitsConfiguration.MAX_RATE) {
                throw new IllegalArgumentException();
            }
            return perSecond;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--rate takes requests per second, minute or hour (50/s, 600/m, "
                    + "3600/h), more than 0 and at most " + (long) dev.fortress.auth.RateLimitsConfiguration.MAX_RATE
                    + "/s, not '" + given + "'");
        }
    }

    /** A rate as {@code keys list} shows it: 50/s, or 0.5/s. */
    static String shownRate(double perSecond) {
        return (perSecond == Math.rint(perSecond) ? String.valueOf((long) perSecond) : String.valueOf(perSecond))
                + "/s";
    }

    /** {@code 7} or {@code 1-1000}. */
    static long[] orgs(String given) {
        String[] bounds = given.strip().split("-", -1);
        try {
            long first = Long.parseLong(bounds[0].strip());
            long last = bounds.length == 2 ? Long.parseLong(bounds[1].strip()) : first;
            if (bounds.length > 2 || first < 1 || last < first || last - first >= MAX_RANGE) {
                throw new IllegalArgumentException();
            }
            long[] orgs = new long[(int) (last - first + 1)];
            for (int i = 0; i < orgs.length; i++) {
                orgs[i] = first + i;
            }
            return orgs;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--org takes an organisation id (7) or a range of at most " + MAX_RANGE
                    + " (1-1000), not '" + given + "'");
        }
    }

    private static void list(PrintStream out, ApiKeyStore store, long org) {
        List<ApiKeyDao.Listed> keys = store.list(org);
        out.printf(
                "%-8s %-15s %-24s %-10s %-20s %-20s %-20s %s%n",
                "ID", "PREFIX", "SCOPES", "RATE", "CREATED", "EXPIRES", "LAST USED", "STATE");
        OffsetDateTime now = OffsetDateTime.now();
        for (ApiKeyDao.Listed key : keys) {
            String state = key.revokedAt() != null
                    ? "revoked " + time(key.revokedAt())
                    : key.expiresAt() != null && !key.expiresAt().isAfter(now) ? "expired" : "active";
            out.printf(
                    "%-8d %-15s %-24s %-10s %-20s %-20s %-20s %s%n",
                    key.id(),
                    key.prefix() + "...",
                    String.join(",", key.scopes()),
                    key.requestsPerSecond() == null ? "default" : shownRate(key.requestsPerSecond()),
                    time(key.createdAt()),
                    time(key.expiresAt()),
                    time(key.lastUsedAt()),
                    state);
        }
        out.printf("%d key(s) of organisation %d%n", keys.size(), org);
    }

    private static String time(OffsetDateTime at) {
        return at == null ? "-" : at.toInstant().truncatedTo(ChronoUnit.SECONDS).toString();
    }

    private static void revoke(
            PrintStream out,
            ApiKeyStore store,
            Jdbi writer,
            FortressConfiguration configuration,
            String key,
            io.dropwizard.util.Duration wait)
            throws InterruptedException {
        Optional<ApiKeyDao.Revoked> revoked = store.revoke(key);
        if (revoked.isEmpty()) {
            throw new IllegalArgumentException(
                    "no key " + (key.startsWith("fk_") ? key.substring(0, 11) + "..." : key));
        }
        ApiKeyDao.Revoked done = revoked.get();
        out.printf(
                "revoked key %d (%s...) of organisation %d at %s%n",
                done.id(), done.prefix(), done.orgId(), time(done.revokedAt()));
        List<String> behind = waitForReplicas(configuration.getReaderDatabase(), writerPosition(writer), wait);
        io.dropwizard.util.Duration within = configuration.getAuth().getRevocationCheckInterval();
        if (behind.isEmpty()) {
            out.printf(
                    "the replicas have replayed it: every instance refuses the key within %s (auth.revocationCheckInterval)%n",
                    within);
        } else {
            out.printf(
                    "WARNING: not replayed after %s by %s: instances reading keys there refuse it once it has "
                            + "(or once its lag passes replica.maxLagTime and reads leave it); the others within %s%n",
                    wait, String.join(", ", behind), within);
        }
    }

    /** The replicas of {@code readers} that have not replayed {@code lsn} within {@code wait}. */
    private static List<String> waitForReplicas(DataSourceFactory readers, String lsn, io.dropwizard.util.Duration wait)
            throws InterruptedException {
        Properties props = new Properties();
        props.putAll(readers.getProperties());
        props.setProperty("user", readers.getUser());
        if (readers.getPassword() != null) {
            props.setProperty("password", readers.getPassword());
        }
        List<String> behind = new ArrayList<>();
        long deadline = System.nanoTime() + wait.toNanoseconds();
        for (String host : JdbcUrls.hosts(readers.getUrl())) {
            Jdbi replica = Jdbi.create(JdbcUrls.withHost(readers.getUrl(), host), props)
                    .installPlugin(new SqlObjectPlugin());
            boolean replayed = false;
            while (!replayed && System.nanoTime() < deadline) {
                try {
                    replayed = replica.withExtension(ConsistencyTokenDao.class, dao -> dao.replayedPast(lsn));
                } catch (RuntimeException unreachable) {
                    // a replica that is down serves no reads (the monitors route around it): retry until the deadline
                }
                if (!replayed) {
                    Thread.sleep(100);
                }
            }
            if (!replayed) {
                behind.add(host);
            }
        }
        return behind;
    }
}
