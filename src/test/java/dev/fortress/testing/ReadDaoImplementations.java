package dev.fortress.testing;

import com.codahale.metrics.MetricRegistry;
import dev.fortress.db.Databases;
import dev.fortress.db.StatementMetrics;
import java.time.Duration;
import java.util.function.Function;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;

/**
 * The two implementations of a read interface (the SQL object, and the class that runs its hot
 * statements on plain JDBC) on one pool, each with metrics of its own, for a contract test that holds
 * both to the same answers and the same statement names.
 */
public final class ReadDaoImplementations {

    private ReadDaoImplementations() {}

    /** One implementation, named for the test's display, with the registry its statements are timed in. */
    public record Implementation<T>(String name, T dao, MetricRegistry metrics) {

        /** Executions timed under {@code statement} ({@code Dao.method}) on the datasource "reader". */
        public long timed(String statement) {
            return metrics.timer(MetricRegistry.name("dev.fortress.db.reader", statement))
                    .getCount();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** {@code type} as JDBI's SQL object, and as {@code jdbc} builds it, on {@code pool}. */
    public static <T> Stream<Implementation<T>> both(
            DataSource pool, Class<T> type, Function<Databases.Source, T> jdbc) {
        return Stream.of(
                implementation("SQL object", pool, source -> source.jdbi().onDemand(type)),
                implementation("plain JDBC", pool, jdbc));
    }

    private static <T> Implementation<T> implementation(
            String name, DataSource pool, Function<Databases.Source, T> build) {
        MetricRegistry metrics = new MetricRegistry();
        StatementMetrics statements = new StatementMetrics(metrics, "reader", Duration.ofSeconds(10));
        Jdbi jdbi = Databases.configure(Jdbi.create(pool), statements);
        return new Implementation<>(name, build.apply(new Databases.Source(pool, jdbi, statements)), metrics);
    }
}
