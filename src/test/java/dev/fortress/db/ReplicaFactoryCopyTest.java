package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.testing.Configs;
import io.dropwizard.jackson.Jackson;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/**
 * Databases builds each replica's pool from a copy of readerDatabase with that replica's URL (it used
 * to set the operator's object's URL in a loop and restore it in a finally): the copy must carry every
 * setting, and the operator's object must be left as loaded.
 */
class ReplicaFactoryCopyTest {

    @Test
    void aReplicasCopyHasEverySettingButTheUrlAndLeavesTheOriginalAlone() throws Exception {
        FortressDataSourceFactory original = Configs.load().getReaderDatabase();
        original.getProperties().put("applicationName", "copy-test");
        original.setMaxSize(17);
        String url = original.getUrl();

        FortressDataSourceFactory copy =
                Databases.forUrl(original, "jdbc:postgresql://10.0.0.9:5433/other", Jackson.newObjectMapper());

        assertThat(copy).isNotSameAs(original);
        assertThat(copy.getUrl()).isEqualTo("jdbc:postgresql://10.0.0.9:5433/other");
        assertThat(original.getUrl()).isEqualTo(url);
        List<String> differences = new ArrayList<>();
        int compared = 0;
        for (Method getter : FortressDataSourceFactory.class.getMethods()) {
            boolean isGetter = getter.getParameterCount() == 0
                    && !Modifier.isStatic(getter.getModifiers())
                    && (getter.getName().startsWith("get") || getter.getName().startsWith("is"))
                    && !getter.getName().equals("getClass")
                    && !getter.getName().equals("getUrl");
            if (isGetter) {
                compared++;
                Object before = getter.invoke(original);
                Object after = getter.invoke(copy);
                if (!Objects.equals(String.valueOf(before), String.valueOf(after))) {
                    differences.add(getter.getName() + ": " + before + " -> " + after);
                }
            }
        }
        assertThat(compared).as("settings compared").isGreaterThan(40);
        assertThat(differences).as("settings the copy lost or changed").isEmpty();
        copy.getProperties().put("applicationName", "changed in the copy");
        assertThat(original.getProperties())
                .as("the copy's properties are its own")
                .containsEntry("applicationName", "copy-test");
    }
}
