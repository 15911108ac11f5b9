package dev.fortress.users;

import jakarta.validation.constraints.Email;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.Size;
import org.hibernate.validator.constraints.Range;

/** The body of {@code POST /users}; every field is checked before anything touches the database. */
public record NewUser(
        @NotBlank @Size(max = 254) @Email String email,
        @NotNull @Pattern(regexp = "admin|member|viewer", message = "must be one of admin, member, viewer") String role,
        @NotNull @Positive Long orgId,
        @NotNull @Range(min = 0, max = 150) Integer age) {
}
