package dev.fortress.users;

/** Another user of the organisation already has this email (unique per organisation, whatever its case). */
public final class DuplicateEmailException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public DuplicateEmailException(String email) {
        super("a user with email " + email + " already exists");
    }
}
