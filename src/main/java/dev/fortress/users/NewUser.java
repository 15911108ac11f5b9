package dev.fortress.users;

import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.Email;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.Size;
import java.util.Set;
import org.hibernate.validator.constraints.Range;

/**
 * The body of {@code POST /users}, and a CSV import row; every field is checked before anything
 * touches the database. The rules live here once (the import's fast path reads the constants).
 */
public record NewUser(
        @NotBlank
        @Size(max = 254)
        @Email
        @Pattern(regexp = "\\P{Cs}*", message = "must be valid Unicode (no unpaired surrogate)")
        String email,

        @NotNull @Pattern(regexp = ROLE_PATTERN, message = "must be one of admin, member, viewer")
        String role,

        @NotNull @Positive Long orgId,
        // The OpenAPI document reads Jakarta's constraints, not Hibernate's @Range: its bounds again.
        @NotNull @Range(min = MIN_AGE, max = MAX_AGE) @Schema(minimum = "" + MIN_AGE, maximum = "" + MAX_AGE)
        Integer age) {

    public static final String ROLE_PATTERN = "admin|member|viewer";
    public static final Set<String> ROLES = Set.of(ROLE_PATTERN.split("\\|"));
    public static final int MIN_AGE = 0;
    public static final int MAX_AGE = 150;
}
