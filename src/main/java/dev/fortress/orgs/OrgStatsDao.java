package dev.fortress.orgs;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** The aggregation behind the cache, on the reader (served by the users_org_id_idx index). */
@RegisterConstructorMapper(OrgStats.class)
public interface OrgStatsDao {

    @SqlQuery("select cast(:orgId as bigint) as org_id, count(*) as users, "
            + "cast(round(avg(age), 2) as double precision) as avg_age from users where org_id = :orgId")
    OrgStats aggregate(@Bind("orgId") long orgId);
}
