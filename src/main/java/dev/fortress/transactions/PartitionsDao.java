package dev.fortress.transactions;

import java.lang.annotation.Annotation;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.lang.reflect.Type;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.YearMonth;
import java.util.List;
import org.jdbi.v3.core.mapper.ColumnMapper;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.sqlobject.config.RegisterColumnMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.SqlStatementCustomizerFactory;
import org.jdbi.v3.sqlobject.customizer.SqlStatementCustomizingAnnotation;
import org.jdbi.v3.sqlobject.customizer.SqlStatementParameterCustomizer;
import org.jdbi.v3.sqlobject.locator.UseClasspathSqlLocator;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * The statements of {@link Partitions}. DDL takes no bind parameters, so a partition's name and
 * bounds are written into the statement: only from a {@link YearMonth} ({@link Month}), never
 * from text, so nothing but {@code transactions_yYYYYmMM} and two ISO instants can reach it.
 */
public interface PartitionsDao {

    /** Waits for, then holds until commit, the advisory lock {@code key} (held behind PgBouncer too). */
    @SqlQuery("select 1 from pg_advisory_xact_lock(:key)")
    int lock(@Bind("key") long key);

    /** Months with a partition, from the catalog (named and bounded by Partitions), oldest first. */
    @SqlQuery
    @UseClasspathSqlLocator
    @RegisterColumnMapper(MonthMapper.class)
    List<YearMonth> present();

    @SqlUpdate("create table <partition> partition of transactions for values from (<from>) to (<to>)")
    void create(@Month YearMonth month);

    @SqlUpdate("alter table transactions detach partition <partition>")
    void detach(@Month YearMonth month);

    @SqlUpdate("drop table <partition>")
    void drop(@Month YearMonth month);

    /** Defines a month's partition name as {@code <partition>} and its bounds as literals {@code <from>}, {@code <to>}. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.PARAMETER)
    @SqlStatementCustomizingAnnotation(Month.Factory.class)
    @interface Month {
        final class Factory implements SqlStatementCustomizerFactory {
            @Override
            public SqlStatementParameterCustomizer createForParameter(
                    Annotation annotation,
                    Class<?> sqlObjectType,
                    Method method,
                    Parameter param,
                    int index,
                    Type type) {
                if (type != YearMonth.class) {
                    throw new IllegalArgumentException("@Month takes a YearMonth, not " + type + ": " + method);
                }
                return (statement, argument) -> {
                    YearMonth month = (YearMonth) argument;
                    statement
                            .define("partition", Partitions.name(month))
                            .define("from", "'" + Partitions.start(month) + "'")
                            .define("to", "'" + Partitions.start(month.plusMonths(1)) + "'");
                };
            }
        }
    }

    /** {@code transactions_y2026m11} to 2026-11. */
    final class MonthMapper implements ColumnMapper<YearMonth> {
        @Override
        public YearMonth map(ResultSet rs, int column, StatementContext ctx) throws SQLException {
            String name = rs.getString(column);
            return YearMonth.of(Integer.parseInt(name.substring(14, 18)), Integer.parseInt(name.substring(19, 21)));
        }
    }
}
