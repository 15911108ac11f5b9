package dev.fortress.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** PathIds accepts what Long.parseLong accepts in decimal (but '+'), and nothing else. */
class PathIdsTest {

    @Test
    void parsesWhatLongParseLongParses() {
        for (String s : new String[] {
            "0", "7", "42", "-1", "007", "9223372036854775807", "-9223372036854775808", "1000000", "-0"
        }) {
            assertThat(PathIds.parse(s)).as(s).isEqualTo(OptionalLong.of(Long.parseLong(s)));
        }
    }

    @Test
    void refusesWhatIsNotALong() {
        for (String s : new String[] {
            "",
            "-",
            "abc",
            "1a",
            "a1",
            "1.5",
            " 1",
            "1 ",
            "+1",
            "--1",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "١٢",
            "0x10"
        }) {
            assertThat(PathIds.parse(s)).as(s).isEmpty();
        }
        assertThat(PathIds.parse(null)).isEmpty();
    }
}
