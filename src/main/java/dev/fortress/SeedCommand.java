package dev.fortress;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import dev.fortress.transactions.TransactionSeeder;
import dev.fortress.users.UserSeeder;
import io.dropwizard.core.cli.ConfiguredCommand;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.db.ManagedDataSource;
import java.time.Duration;
import net.sourceforge.argparse4j.inf.Namespace;
import net.sourceforge.argparse4j.inf.Subparser;
import org.jdbi.v3.core.Jdbi;

/** {@code seed config.yml --users N --orgs M}: demo and benchmark data, set-based, on the writer. */
public final class SeedCommand extends ConfiguredCommand<FortressConfiguration> {

    public SeedCommand() {
        super("seed", "Adds generated users and transactions for demos and benchmarks");
    }

    @Override
    public void configure(Subparser subparser) {
        super.configure(subparser);
        subparser
                .addArgument("--users")
                .type(Long.class)
                .setDefault(0L)
                .help("how many users to add (emails never collide with existing ones)");
        subparser
                .addArgument("--orgs")
                .type(Long.class)
                .setDefault(100L)
                .help("spread the users over organisations 1..orgs");
        subparser
                .addArgument("--transactions")
                .type(Long.class)
                .setDefault(0L)
                .help("how many transactions to add, over the last 12 months, for existing users");
    }

    @Override
    protected void run(
            Bootstrap<FortressConfiguration> bootstrap, Namespace namespace, FortressConfiguration configuration)
            throws Exception {
        long users = namespace.getLong("users");
        long orgs = namespace.getLong("orgs");
        long transactions = namespace.getLong("transactions");
        if (users < 0 || orgs < 1 || transactions < 0) {
            throw new IllegalArgumentException("--users and --transactions must be >= 0 and --orgs >= 1");
        }
        MetricRegistry metrics = new MetricRegistry();
        ManagedDataSource dataSource = configuration.getWriterDatabase().build(metrics, "seed");
        dataSource.start();
        try {
            Jdbi jdbi = Databases.configure(
                    Jdbi.create(dataSource), new StatementMetrics(metrics, "seed", Duration.ofHours(1)));
            long started = System.nanoTime();
            if (users > 0) {
                long added = new UserSeeder(jdbi).seed(users, orgs);
                System.out.printf(
                        "seeded %d users over orgs 1..%d in %.1f s%n",
                        added, orgs, (System.nanoTime() - started) / 1e9);
            }
            if (transactions > 0) {
                long begun = System.nanoTime();
                long added = new TransactionSeeder(jdbi, configuration.getTransactions()).seed(transactions);
                System.out.printf(
                        "seeded %d transactions over the last 12 months in %.1f s%n",
                        added, (System.nanoTime() - begun) / 1e9);
            }
        } finally {
            dataSource.stop();
        }
    }
}
