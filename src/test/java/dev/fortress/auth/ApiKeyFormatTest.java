package dev.fortress.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a key looks like, and how little of it is ever shown or stored. */
class ApiKeyFormatTest {

    private final SecureRandom random = new SecureRandom();

    @Test
    void keysAreRecognisableDistinctAndWellFormed() {
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            String key = ApiKeyFormat.generate(random);
            assertThat(key).matches("fk_[0-9A-Za-z]{36}");
            assertThat(ApiKeyFormat.wellFormed(key)).as(key).isTrue();
            keys.add(key);
        }
        assertThat(keys).as("no two alike").hasSize(10_000);
    }

    @Test
    void anyChangedCharacterBreaksTheChecksum() {
        String key = ApiKeyFormat.generate(random);
        for (int i = 3; i < key.length(); i++) {
            char other = key.charAt(i) == 'a' ? 'b' : 'a';
            String changed = key.substring(0, i) + other + key.substring(i + 1);
            assertThat(ApiKeyFormat.wellFormed(changed))
                    .as("character " + i + " changed")
                    .isFalse();
        }
    }

    @Test
    void anythingElseIsNotAKey() {
        String key = ApiKeyFormat.generate(random);
        for (String other : new String[] {
            null,
            "",
            "fk_",
            key.substring(0, key.length() - 1),
            key + "0",
            "gh" + key.substring(2),
            key.replace('f', 'F'),
            key.substring(0, 10) + "é" + key.substring(11),
            key.substring(0, 10) + "\n" + key.substring(11),
            " " + key.substring(1)
        }) {
            assertThat(ApiKeyFormat.wellFormed(other)).as(String.valueOf(other)).isFalse();
        }
    }

    @Test
    void onlyThePrefixAndEightCharactersAreShownAndOnlyTheHashIsStored() {
        String key = ApiKeyFormat.generate(random);
        assertThat(ApiKeyFormat.shown(key)).hasSize(11).isEqualTo(key.substring(0, 11));
        assertThat(ApiKeyFormat.hash(key))
                .hasSize(32)
                .isEqualTo(ApiKeyFormat.hash(key))
                .isNotEqualTo(ApiKeyFormat.hash(ApiKeyFormat.generate(random)));
    }
}
