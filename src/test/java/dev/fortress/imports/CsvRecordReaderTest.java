package dev.fortress.imports;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fortress.imports.CsvRecordReader.Problem;
import dev.fortress.imports.CsvRecordReader.Record;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CsvRecordReaderTest {

    private static List<Record> read(InputStream in, int max) throws IOException {
        CsvRecordReader reader = new CsvRecordReader(in, max);
        List<Record> records = new ArrayList<>();
        Record r;
        while ((r = reader.next()) != null) {
            records.add(r);
        }
        return records;
    }

    private static List<Record> read(String csv) throws IOException {
        return read(new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)), 1024);
    }

    private static List<String> text(Record r) {
        return r.fields().stream()
                .map(f -> new String(f, StandardCharsets.UTF_8))
                .toList();
    }

    @Test
    void quotedFieldsKeepCommasQuotesAndLineBreaksAndLinesCountPhysically() throws IOException {
        List<Record> records = read("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",z\nlast,1\n");

        assertThat(records).extracting(Record::line).containsExactly(1L, 2L, 3L, 5L);
        assertThat(text(records.get(1))).containsExactly("x, y", "say \"hi\"");
        assertThat(text(records.get(2))).containsExactly("multi\nline", "z");
        assertThat(records).extracting(Record::problem).containsOnly(Problem.NONE);
    }

    @Test
    void crlfCrAndMissingFinalNewlineAllEndRecords() throws IOException {
        List<Record> records = read("a,b\r\nc,d\re,f");

        assertThat(records)
                .extracting(CsvRecordReaderTest::text)
                .containsExactly(List.of("a", "b"), List.of("c", "d"), List.of("e", "f"));
        assertThat(records).extracting(Record::line).containsExactly(1L, 2L, 3L);
    }

    @Test
    void byteOrderMarkIsSkippedAndBlankLinesAreNotRecords() throws IOException {
        List<Record> records = read("\uFEFFemail,role\n\n\r\nx,y\n\n");

        assertThat(text(records.get(0))).containsExactly("email", "role");
        assertThat(records).hasSize(2);
        assertThat(records.get(1).line()).isEqualTo(4);
    }

    @Test
    void emptyFieldsAreKept() throws IOException {
        assertThat(text(read("a,,\n").get(0))).containsExactly("a", "", "");
    }

    @Test
    void overlongRecordIsReportedWithoutBeingKeptAndTheNextRecordIsIntact() throws IOException {
        int tenMegabytes = 10 * 1024 * 1024;
        InputStream huge = new InputStream() { // 10 MB of 'x' on one line, generated, never in memory
                    private int sent;

                    @Override
                    public int read() {
                        if (sent < tenMegabytes) {
                            sent++;
                            return 'x';
                        }
                        return sent++ == tenMegabytes ? '\n' : -1;
                    }
                };
        InputStream in = new java.io.SequenceInputStream(
                new ByteArrayInputStream("h\n".getBytes()),
                new java.io.SequenceInputStream(huge, new ByteArrayInputStream("ok,1\n".getBytes())));

        List<Record> records = read(in, 64 * 1024);

        assertThat(records).hasSize(3);
        assertThat(records.get(1).problem()).isEqualTo(Problem.TOO_LONG);
        assertThat(records.get(1).fields()).isEmpty();
        assertThat(text(records.get(2))).containsExactly("ok", "1");
        assertThat(records.get(2).line()).isEqualTo(3);
    }

    @Test
    void brokenQuotingIsReported() throws IOException {
        assertThat(read("\"open,1\n2,3\n").get(0).problem()).isEqualTo(Problem.UNTERMINATED_QUOTE);
        List<Record> records = read("\"a\"b,c\nd,e\n");
        assertThat(records.get(0).problem()).isEqualTo(Problem.TEXT_AFTER_QUOTE);
        assertThat(text(records.get(1))).containsExactly("d", "e");
    }

    @Test
    void invalidUtf8StaysBytesForTheCallerToJudge() throws IOException {
        byte[] csv = {'a', ',', (byte) 0xC3, (byte) 0x28, '\n'};
        Record record = read(new ByteArrayInputStream(csv), 100).get(0);

        assertThat(record.fields().get(1)).containsExactly((byte) 0xC3, (byte) 0x28);
    }
}
