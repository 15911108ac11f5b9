package dev.fortress.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ConsistencyTokenTest {

    @Test
    void parsesWalPositionsAsPostgresPrintsThemAndOrdersThem() {
        ConsistencyToken low = ConsistencyToken.parse("0/16B3748");
        ConsistencyToken high = ConsistencyToken.parse("1/0");

        assertThat(low.position()).isEqualTo(0x16B3748L);
        assertThat(high.position()).isEqualTo(1L << 32).isGreaterThan(low.position());
        assertThat(low.toString()).isEqualTo("0/16B3748");
        assertThat(ConsistencyToken.parse("a/ff").toString()).isEqualTo("A/FF");
        ConsistencyToken last = ConsistencyToken.parse("FFFFFFFF/FFFFFFFF");
        assertThat(last.toString()).isEqualTo("FFFFFFFF/FFFFFFFF");
        assertThat(Long.compareUnsigned(last.position(), high.position()))
                .as("the largest, compared unsigned")
                .isPositive();
    }

    @Test
    void malformedHeadersAreIgnored() {
        assertThat(ConsistencyToken.fromHeader(null)).isEmpty();
        for (String bad :
                new String[] {"", "garbage", "1/", "/1", "123456789/0", "0/16B3748; drop table users", "-1/0"}) {
            assertThat(ConsistencyToken.fromHeader(bad)).as(bad).isEmpty();
        }
        assertThatThrownBy(() -> ConsistencyToken.parse("x/y")).isInstanceOf(IllegalArgumentException.class);
    }
}
