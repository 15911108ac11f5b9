package dev.fortress.imports;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fortress.testing.TestDatabase;
import io.dropwizard.jackson.Jackson;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ImportStateTest {

    private static final TestDatabase DB = TestDatabase.create();

    @Test
    void spellsEachStateAsTheDatabasesCheckConstraintDoes() {
        String check = DB.jdbi()
                .withHandle(h -> h.select(
                                "select pg_get_constraintdef(oid) from pg_constraint where conname = 'imports_status_check'")
                        .mapTo(String.class)
                        .one());
        List<String> allowed = new ArrayList<>();
        Matcher quoted = Pattern.compile("'([a-z_]+)'").matcher(check);
        while (quoted.find()) {
            allowed.add(quoted.group(1));
        }

        assertThat(Arrays.stream(ImportState.values()).map(ImportState::value))
                .as(check)
                .containsExactlyElementsOf(allowed);
    }

    @Test
    void answersInJsonAsTheApiSpellsItAndReadsOnlyKnownSpellings() throws Exception {
        assertThat(Jackson.newObjectMapper().writeValueAsString(ImportUploads.accepted(new java.util.UUID(0, 1))))
                .isEqualTo("{\"importId\":\"00000000-0000-0000-0000-000000000001\",\"status\":\"queued\"}");
        assertThat(ImportState.of("processing")).isEqualTo(ImportState.PROCESSING);
        assertThatThrownBy(() -> ImportState.of("QUEUED")).hasMessage("not an import state: QUEUED");
    }
}
