package dev.fortress.users;

/** Another user already has this email (emails are unique whatever their case). */
public final class DuplicateEmailException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public DuplicateEmailException(String email) {
        super("a user with email " + email + " already exists");
    }
}
