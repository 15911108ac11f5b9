package dev.fortress.users;

/** A user as stored and as served: {@code {"id","email","role","orgId","age"}}. */
public record User(long id, String email, String role, long orgId, int age) {}
