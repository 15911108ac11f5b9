package dev.fortress.orgs;

import java.util.List;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** The aggregation behind the cache, on the reader (served by the users_org_id_idx index). */
@RegisterConstructorMapper(OrgStats.class)
public interface OrgStatsDao {

    @SqlQuery("select cast(:orgId as bigint) as org_id, count(*) as users, "
            + "cast(round(avg(age), 2) as double precision) as avg_age from users where org_id = :orgId")
    OrgStats aggregate(@Bind("orgId") long orgId);

    /** Orgs that have users, from the first rows the scan meets: the warm-up's sample. */
    @SqlQuery("select distinct org_id from (select org_id from users limit :rows) sample")
    List<Long> sampleOrgIds(@Bind("rows") int rows);
}
