package dev.fortress.imports;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An RFC 4180 CSV reader over raw bytes: quoted fields with commas, quotes ({@code ""}) and line
 * breaks; LF, CRLF or CR line ends; a leading UTF-8 byte-order mark is skipped. It keeps at most
 * {@code maxRecordBytes} of a record: a longer one is scanned to its end and reported as too
 * long, so a 10 MB line costs no 10 MB of heap. Fields stay bytes: decoding (and rejecting
 * invalid UTF-8) is the caller's, row by row.
 * <p>
 * Kept rather than commons-csv 1.14.1 or jackson-dataformat-csv 2.21 (both tried on these cases):
 * an import needs a bad record to be one row error with the next line read on, and commons-csv
 * resumes mid-record after broken quoting, reads invalid UTF-8 as U+FFFD and holds a whole record
 * (~280 MiB of heap for one 64 MiB line), while Jackson cannot go on past invalid UTF-8 or a value
 * over its length limit; speed decides nothing (300k rows: commons-csv 1.3M rows/s, this reader
 * 2.6M, Jackson 2.8M).
 */
final class CsvRecordReader {

    /** One record: the physical line it starts on (1-based), its fields, and what was wrong. */
    record Record(long line, List<byte[]> fields, Problem problem) {}

    enum Problem {
        NONE,
        TOO_LONG,
        UNTERMINATED_QUOTE,
        TEXT_AFTER_QUOTE
    }

    private static final int EOF = -1;

    private final InputStream in;
    private final int maxRecordBytes;
    private final byte[] buffer = new byte[64 * 1024];
    private int position;
    private int limit;
    private long line = 1;
    private long bytesRead;
    private boolean started;

    private byte[] field = new byte[256];
    private int fieldLength;
    private int recordBytes;

    CsvRecordReader(InputStream in, int maxRecordBytes) {
        this.in = in;
        this.maxRecordBytes = maxRecordBytes;
    }

    /** Bytes consumed from the stream so far (for progress). */
    long bytesRead() {
        return bytesRead;
    }

    /** The next record, or null at the end of the input. Blank lines are skipped. */
    Record next() throws IOException {
        if (!started) {
            skipByteOrderMark();
            started = true;
        }
        while (true) {
            int first = peek();
            if (first == EOF) {
                return null;
            }
            if (first == '\n' || first == '\r') {
                read();
                endOfLine(first);
                continue;
            }
            return readRecord();
        }
    }

    private Record readRecord() throws IOException {
        long startLine = line;
        List<byte[]> fields = new ArrayList<>(4);
        Problem problem = Problem.NONE;
        recordBytes = 0;
        while (true) {
            fieldLength = 0;
            int c = read();
            int end;
            if (c == '"') {
                end = readQuoted();
                if (end == '"') { // a lone quote followed by text: RFC 4180 forbids it
                    problem = worst(problem, Problem.TEXT_AFTER_QUOTE);
                    end = readUnquoted(read());
                } else if (end == EOF - 1) {
                    problem = worst(problem, Problem.UNTERMINATED_QUOTE);
                    end = EOF;
                }
            } else {
                end = readUnquoted(c);
            }
            if (recordBytes > maxRecordBytes) {
                problem = Problem.TOO_LONG;
            } else {
                fields.add(Arrays.copyOf(field, fieldLength));
            }
            if (end == ',') {
                continue;
            }
            endOfLine(end);
            return new Record(startLine, problem == Problem.TOO_LONG ? List.of() : fields, problem);
        }
    }

    /** Reads an unquoted field starting with {@code c}; returns what ended it: ',', '\n', '\r' or EOF. */
    private int readUnquoted(int c) throws IOException {
        while (c != ',' && c != '\n' && c != '\r' && c != EOF) {
            append(c);
            c = read();
        }
        return c;
    }

    /**
     * Reads a quoted field after its opening quote; returns ',', '\n', '\r' or EOF after the
     * closing quote, '"' when text follows the closing quote, or EOF - 1 when the input ends
     * inside the quotes.
     */
    private int readQuoted() throws IOException {
        while (true) {
            int c = read();
            if (c == EOF) {
                return EOF - 1;
            }
            if (c == '"') {
                int next = read();
                if (next == '"') {
                    append('"');
                    continue;
                }
                if (next == ',' || next == '\n' || next == '\r' || next == EOF) {
                    return next;
                }
                append('"');
                append(next);
                return '"';
            }
            if (c == '\n') {
                line++;
            }
            append(c);
        }
    }

    private void append(int c) {
        recordBytes++;
        if (recordBytes > maxRecordBytes) {
            return; // keep scanning to the record's end, keep nothing
        }
        if (fieldLength == field.length) {
            field = Arrays.copyOf(field, Math.min(field.length * 2, maxRecordBytes + 1));
        }
        field[fieldLength++] = (byte) c;
    }

    private void endOfLine(int end) throws IOException {
        if (end == '\r' && peek() == '\n') {
            read();
        }
        if (end == '\n' || end == '\r') {
            line++;
        }
    }

    private void skipByteOrderMark() throws IOException {
        fill();
        if (limit - position >= 3
                && (buffer[position] & 0xff) == 0xEF
                && (buffer[position + 1] & 0xff) == 0xBB
                && (buffer[position + 2] & 0xff) == 0xBF) {
            position += 3;
            bytesRead += 3;
        }
    }

    private int peek() throws IOException {
        if (position == limit && !fill()) {
            return EOF;
        }
        return buffer[position] & 0xff;
    }

    private int read() throws IOException {
        if (position == limit && !fill()) {
            return EOF;
        }
        bytesRead++;
        return buffer[position++] & 0xff;
    }

    /** Refills the buffer; keeps unread bytes (at most the 3 of a BOM check). */
    private boolean fill() throws IOException {
        if (position < limit) {
            int remaining = limit - position;
            System.arraycopy(buffer, position, buffer, 0, remaining);
            limit = remaining;
        } else {
            limit = 0;
        }
        position = 0;
        while (limit < 3) {
            int n = in.read(buffer, limit, buffer.length - limit);
            if (n < 0) {
                break;
            }
            limit += n;
        }
        return limit > 0;
    }

    private static Problem worst(Problem current, Problem candidate) {
        return candidate.ordinal() > current.ordinal() ? candidate : current;
    }
}
