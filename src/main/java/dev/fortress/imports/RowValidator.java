package dev.fortress.imports;

import dev.fortress.users.NewUser;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validator;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.TreeSet;

/**
 * Turns one CSV record into a {@link NewUser} or a row error. The field rules are the
 * {@code POST /users} rules (the same Bean Validation constraints on {@link NewUser}), so an
 * import accepts exactly what the API accepts, with the same messages. Not thread-safe: one per job run.
 */
final class RowValidator {

    static final List<String> HEADER = List.of("email", "role", "org_id", "age");
    static final int MAX_QUOTED_HEADER = 200;

    sealed interface Outcome permits Valid, Invalid {}

    record Valid(NewUser user) implements Outcome {}

    record Invalid(String message) implements Outcome {}

    /**
     * Whose import it is: the organisation of the key that uploaded it, which is the only one its
     * rows may add users to, and whether that key could create admins (the {@code admin} scope). An
     * import stored before API keys has no organisation and keeps the rules it was accepted with.
     */
    record Owner(Long orgId, boolean mayCreateAdmins) {

        /** The row's outcome for this owner: a valid row for another organisation, or an admin it may not create, is refused. */
        Outcome admit(Outcome outcome) {
            if (orgId == null || !(outcome instanceof Valid valid)) {
                return outcome;
            }
            if (valid.user().orgId() != orgId.longValue()) {
                return new Invalid("org_id " + valid.user().orgId() + " is not the organisation of the key that "
                        + "uploaded this file (" + orgId + ")");
            }
            if ("admin".equals(valid.user().role()) && !mayCreateAdmins) {
                return new Invalid("role admin needs a file uploaded with a key that has the admin scope");
            }
            return outcome;
        }
    }

    private final Validator validator;
    private final long maxLineBytes;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);

    RowValidator(Validator validator, long maxLineBytes) {
        this.validator = validator;
        this.maxLineBytes = maxLineBytes;
    }

    /** Null when the header is exactly {@code email,role,org_id,age}; else why the import fails. */
    String headerProblem(CsvRecordReader.Record header) {
        if (header == null) {
            return "the file is empty: expected a header row email,role,org_id,age";
        }
        try {
            List<String> names = new java.util.ArrayList<>();
            for (byte[] field : header.fields()) {
                names.add(decode(field));
            }
            if (header.problem() == CsvRecordReader.Problem.NONE && names.equals(HEADER)) {
                return null;
            }
            return "header must be exactly email,role,org_id,age (found: " + printable(String.join(",", names)) + ")";
        } catch (CharacterCodingException e) {
            return "header must be exactly email,role,org_id,age (found invalid UTF-8)";
        }
    }

    /** The header as the reason quotes it: PostgreSQL text cannot hold NUL, and a reason is no place for 64 KiB. */
    private static String printable(String header) {
        StringBuilder out = new StringBuilder();
        header.codePoints()
                .limit(MAX_QUOTED_HEADER)
                .forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? '\uFFFD' : c));
        return header.codePointCount(0, header.length()) > MAX_QUOTED_HEADER ? out + "..." : out.toString();
    }

    Outcome validate(CsvRecordReader.Record record) {
        switch (record.problem()) {
            case TOO_LONG -> {
                return new Invalid("line is longer than " + maxLineBytes + " bytes and was skipped");
            }
            case UNTERMINATED_QUOTE -> {
                return new Invalid("quoted field is not closed before the end of the file");
            }
            case TEXT_AFTER_QUOTE -> {
                return new Invalid("text after a closing quote (a quote inside a quoted field must be doubled)");
            }
            default -> {
                // well-formed CSV: check the fields below
            }
        }
        List<byte[]> fields = record.fields();
        if (fields.size() != HEADER.size()) {
            return new Invalid("expected 4 columns (email,role,org_id,age), found " + fields.size());
        }
        String email;
        String role;
        String orgId;
        String age;
        try {
            email = decode(fields.get(0));
            role = decode(fields.get(1));
            orgId = decode(fields.get(2));
            age = decode(fields.get(3));
        } catch (CharacterCodingException e) {
            return new Invalid("invalid UTF-8");
        }
        TreeSet<String> problems = new TreeSet<>();
        Long org = parseLong(orgId);
        if (org == null) {
            problems.add("org_id must be a positive integer");
        }
        Integer years = parseInt(age);
        if (years == null) {
            problems.add("age must be between " + NewUser.MIN_AGE + " and " + NewUser.MAX_AGE);
        }
        NewUser user = new NewUser(email, role, org == null ? 1L : org, years == null ? NewUser.MIN_AGE : years);
        if (org != null
                && years != null
                && years <= NewUser.MAX_AGE
                && years >= NewUser.MIN_AGE
                && NewUser.ROLES.contains(role)
                && surelyValidEmail(email)) {
            return new Valid(user); // what Bean Validation would say, at a fraction of its cost per row
        }
        for (ConstraintViolation<NewUser> violation : validator.validate(user)) {
            problems.add(columnName(violation.getPropertyPath().toString()) + " " + violation.getMessage());
        }
        return problems.isEmpty() ? new Valid(user) : new Invalid(String.join("; ", problems));
    }

    private String decode(byte[] bytes) throws CharacterCodingException {
        for (byte b : bytes) {
            if (b < 0) {
                CharBuffer chars = utf8.reset().decode(ByteBuffer.wrap(bytes));
                return chars.toString();
            }
        }
        return new String(bytes, StandardCharsets.ISO_8859_1); // pure ASCII: the common, fast case
    }

    /**
     * A strict subset of what {@code @Email @Size(max = 254)} accepts: dot-separated atoms of
     * letters, digits, '_', '+', '-' (at most 64) before the '@', and dot-separated LDH labels
     * (1 to 63 characters, no leading or trailing '-') after it. True means valid; false means
     * "ask the Validator", which decides. RowValidatorTest checks the subset claim.
     */
    static boolean surelyValidEmail(String email) {
        int at = email.indexOf('@');
        if (at < 1 || at > 64 || email.length() > 254 || at == email.length() - 1) {
            return false;
        }
        char previous = '.';
        for (int i = 0; i < at; i++) {
            char c = email.charAt(i);
            boolean atom = c < 128 && (Character.isLetterOrDigit(c) || c == '_' || c == '+' || c == '-');
            if (!(atom || (c == '.' && previous != '.'))) {
                return false;
            }
            previous = c;
        }
        if (previous == '.') {
            return false;
        }
        int labelLength = 0;
        previous = '.';
        for (int i = at + 1; i < email.length(); i++) {
            char c = email.charAt(i);
            if (c == '.') {
                if (labelLength == 0 || previous == '-') {
                    return false;
                }
                labelLength = 0;
            } else if (c < 128 && (Character.isLetterOrDigit(c) || (c == '-' && labelLength > 0))) {
                if (++labelLength > 63) {
                    return false;
                }
            } else {
                return false;
            }
            previous = c;
        }
        return labelLength > 0 && previous != '-';
    }

    private static String columnName(String property) {
        return switch (property) {
            case "orgId" -> "org_id";
            default -> property;
        };
    }

    private static Long parseLong(String text) {
        try {
            long value = Long.parseLong(text.strip());
            return value > 0 ? value : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The integer, or null; its range is {@link NewUser}'s to judge. */
    private static Integer parseInt(String text) {
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
