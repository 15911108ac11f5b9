package dev.fortress.orgs;

/** {@code GET /orgs/{orgId}/stats}: how many users an org has and their average age (null for none). */
public record OrgStats(long orgId, long users, Double avgAge) {}
