package dev.fortress.imports;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.imports.CsvRecordReader.Problem;
import dev.fortress.imports.CsvRecordReader.Record;
import io.dropwizard.jersey.validation.Validators;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class RowValidatorTest {

    private final RowValidator validator = new RowValidator(Validators.newValidator(), 65536);

    private static Record record(String... fields) {
        return new Record(
                7,
                Arrays.stream(fields)
                        .map(f -> f.getBytes(StandardCharsets.UTF_8))
                        .toList(),
                Problem.NONE);
    }

    private String problem(Record r) {
        RowValidator.Outcome outcome = validator.validate(r);
        return outcome instanceof RowValidator.Invalid invalid ? invalid.message() : null;
    }

    @Test
    void headerMustBeExact() {
        assertThat(validator.headerProblem(record("email", "role", "org_id", "age")))
                .isNull();
        assertThat(validator.headerProblem(record("email", "role", "orgId", "age")))
                .isEqualTo("header must be exactly email,role,org_id,age (found: email,role,orgId,age)");
        assertThat(validator.headerProblem(null)).startsWith("the file is empty");
    }

    @Test
    void validRowBecomesAUser() {
        RowValidator.Outcome outcome = validator.validate(record("a@x.io", "admin", "7", "31"));

        assertThat(outcome)
                .isEqualTo(new RowValidator.Valid(new dev.fortress.users.NewUser("a@x.io", "admin", 7L, 31)));
    }

    @Test
    void everyProblemOfARowIsNamedWithTheApiMessages() {
        assertThat(problem(record("nope", "root", "-1", "151")))
                .isEqualTo("age must be between 0 and 150; email must be a well-formed email address; "
                        + "org_id must be a positive integer; role must be one of admin, member, viewer");
        assertThat(problem(record("a@x.io", "admin", "x", "31"))).isEqualTo("org_id must be a positive integer");
        assertThat(problem(record("a@x.io", "admin", "1")))
                .isEqualTo("expected 4 columns (email,role,org_id,age), found 3");
        assertThat(problem(new Record(9, List.of(), Problem.TOO_LONG)))
                .isEqualTo("line is longer than 65536 bytes and was skipped");
    }

    @Test
    void anImportAdmitsRowsOfItsOrganisationOnlyAndAdminsOnlyFromAKeyWithTheAdminScope() {
        RowValidator.Owner withoutAdmin = new RowValidator.Owner(7L, false);
        RowValidator.Owner withAdmin = new RowValidator.Owner(7L, true);
        RowValidator.Outcome member = validator.validate(record("m@x.io", "member", "7", "31"));
        RowValidator.Outcome admin = validator.validate(record("a@x.io", "admin", "7", "31"));
        RowValidator.Outcome elsewhere = validator.validate(record("e@x.io", "member", "8", "31"));
        RowValidator.Outcome invalid = validator.validate(record("nope", "member", "8", "31"));

        assertThat(withoutAdmin.admit(member)).isEqualTo(member);
        assertThat(withoutAdmin.admit(admin))
                .isEqualTo(new RowValidator.Invalid(
                        "role admin needs a file uploaded with a key that has the admin scope"));
        assertThat(withAdmin.admit(admin)).isEqualTo(admin);
        assertThat(withAdmin.admit(elsewhere))
                .isEqualTo(new RowValidator.Invalid(
                        "org_id 8 is not the organisation of the key that uploaded this file (7)"));
        assertThat(withAdmin.admit(invalid))
                .as("a row's own problems come first")
                .isEqualTo(invalid);
        assertThat(new RowValidator.Owner(null, false).admit(elsewhere))
                .as("an import stored before API keys keeps its rules")
                .isEqualTo(elsewhere);
    }

    @Test
    void invalidUtf8IsARowError() {
        Record r = new Record(
                3,
                List.of(new byte[] {(byte) 0xC3, (byte) 0x28}, "admin".getBytes(), "1".getBytes(), "2".getBytes()),
                Problem.NONE);

        assertThat(problem(r)).isEqualTo("invalid UTF-8");
    }

    @Test
    void theFastEmailCheckNeverAcceptsWhatBeanValidationRefuses() {
        jakarta.validation.Validator beans = Validators.newValidator();
        java.util.Random random = new java.util.Random(42);
        String alphabet = "ab.-_+@\" é1Z.-";
        int fastAccepted = 0;
        for (int i = 0; i < 50_000; i++) {
            StringBuilder email = new StringBuilder();
            int length = 1 + random.nextInt(12);
            for (int j = 0; j < length; j++) {
                email.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            String candidate = random.nextInt(4) == 0 ? email + "@x.io" : email.toString();
            if (RowValidator.surelyValidEmail(candidate)) {
                fastAccepted++;
                assertThat(beans.validate(new dev.fortress.users.NewUser(candidate, "admin", 1L, 1)))
                        .as(candidate)
                        .isEmpty();
            }
        }
        assertThat(fastAccepted).as("the check must accept common addresses").isGreaterThan(1_000);
        assertThat(RowValidator.surelyValidEmail("first.last+tag@mail-1.example.io"))
                .isTrue();
        assertThat(RowValidator.surelyValidEmail("a".repeat(65) + "@x.io")).isFalse();
        assertThat(RowValidator.surelyValidEmail("a@" + "b".repeat(64) + ".io")).isFalse();
        assertThat(RowValidator.surelyValidEmail("a@-x.io")).isFalse();
        assertThat(RowValidator.surelyValidEmail("a@x-.io")).isFalse();
    }

    @Test
    void nonAsciiUtf8IsAccepted() {
        assertThat(validator.validate(record("zoë@example.io", "member", "1", "40")))
                .isInstanceOf(RowValidator.Valid.class);
    }
}
