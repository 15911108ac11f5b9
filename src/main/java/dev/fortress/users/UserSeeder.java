package dev.fortress.users;

import java.security.SecureRandom;
import org.jdbi.v3.core.Jdbi;

/**
 * Adds generated users with one set-based INSERT per chunk ({@code generate_series}), not row
 * by row. Each run puts a fresh random token in its emails, and a conflict with an existing
 * email is skipped and topped up, so a seed never fails on or duplicates existing users.
 */
public final class UserSeeder {

    private static final int CHUNK = 200_000;

    private final Jdbi jdbi;
    private final SecureRandom random = new SecureRandom();

    public UserSeeder(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** Adds exactly {@code users} users over orgs 1..orgs; returns how many were added. */
    public long seed(long users, long orgs) {
        long added = 0;
        while (added < users) {
            String token = Long.toString(random.nextLong() & Long.MAX_VALUE, 36);
            long wanted = users - added;
            for (long first = 1; first <= wanted; first += CHUNK) {
                added += insertChunk(token, orgs, first, Math.min(wanted, first + CHUNK - 1));
            }
        }
        jdbi.useTransaction(h -> {
            UserSeedDao dao = h.attach(UserSeedDao.class);
            dao.noStatementTimeout();
            dao.analyze();
        });
        return added;
    }

    private int insertChunk(String token, long orgs, long first, long last) {
        return jdbi.inTransaction(h -> {
            UserSeedDao dao = h.attach(UserSeedDao.class);
            // Bulk demo data: losing the last chunk in a crash is fine, waiting on fsync is not.
            dao.synchronousCommitOff();
            dao.noStatementTimeout();
            return dao.insert(token, orgs, first, last);
        });
    }
}
