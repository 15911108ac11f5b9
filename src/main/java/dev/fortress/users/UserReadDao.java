package dev.fortress.users;

import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/**
 * The hot read path, bound to the reader datasource. The SQL text is constant, so the driver's
 * per-connection statement cache keeps one server-side prepared statement for it and every
 * later call on that connection only binds and executes (see prepareThreshold in config.yml).
 */
@RegisterRowMapper(UserMapper.class)
public interface UserReadDao {

    /** The hot statement's one text, for this SQL object and for {@link JdbcUserReadDao}. */
    String FIND_BY_ID = "select id, email, role, org_id, age from users where id = :id";

    @SqlQuery(FIND_BY_ID)
    Optional<User> findById(long id);

    /** Up to {@code limit} ids of {@code orgId}'s users, whichever the scan meets first: the warm-up's sample. */
    @SqlQuery("select id from users where org_id = :orgId limit :limit")
    List<Long> sampleIds(long orgId, int limit);

    /** A user of another organisation than {@code orgId}, if any: the warm-up's cross-tenant read. */
    @SqlQuery("select id from users where org_id <> :orgId limit 1")
    Optional<Long> otherOrgsUser(long orgId);

    /** The organisation of the first user the scan meets, if any: the one the warm-up calls as. */
    @SqlQuery("select org_id from users limit 1")
    Optional<Long> anyOrg();
}
