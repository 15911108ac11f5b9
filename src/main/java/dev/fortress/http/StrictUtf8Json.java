package dev.fortress.http;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ReaderInterceptor;
import jakarta.ws.rs.ext.ReaderInterceptorContext;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Refuses (400) a JSON request body that is not well-formed UTF-8 (RFC 3629). Jackson's byte
 * parser decodes some ill-formed sequences instead of refusing them: the overlong {@code C0 AF}
 * becomes "/", so bytes that a filter in front saw as something else would reach the database as
 * a different, valid character. The check streams (no copy of the body) before Jackson reads.
 */
public final class StrictUtf8Json implements ReaderInterceptor {

    @Override
    public Object aroundReadFrom(ReaderInterceptorContext context) throws IOException {
        MediaType type = context.getMediaType();
        if (type != null
                && (type.getSubtype().equals("json") || type.getSubtype().endsWith("+json"))) {
            context.setInputStream(new Utf8CheckingStream(context.getInputStream()));
        }
        return context.proceed();
    }

    /** Passes bytes through, failing at the first that breaks a well-formed UTF-8 sequence. */
    static final class Utf8CheckingStream extends FilterInputStream {
        /** Continuation bytes still expected, and the allowed range of the next one (Table 3-7). */
        private int pending;

        private int low = 0x80;
        private int high = 0xBF;

        Utf8CheckingStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b < 0) {
                end();
            } else {
                check(b);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n < 0) {
                end();
            }
            for (int i = 0; i < n; i++) {
                check(buffer[offset + i] & 0xFF);
            }
            return n;
        }

        private void check(int b) {
            if (pending > 0) {
                if (b < low || b > high) {
                    throw invalid();
                }
                pending--;
                low = 0x80;
                high = 0xBF;
                return;
            }
            if (b < 0x80) {
                return;
            }
            if (b >= 0xC2 && b <= 0xDF) {
                pending = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                pending = 2;
                low = b == 0xE0 ? 0xA0 : 0x80; // no overlong 3-byte forms
                high = b == 0xED ? 0x9F : 0xBF; // no UTF-16 surrogates
            } else if (b >= 0xF0 && b <= 0xF4) {
                pending = 3;
                low = b == 0xF0 ? 0x90 : 0x80; // no overlong 4-byte forms
                high = b == 0xF4 ? 0x8F : 0xBF; // nothing past U+10FFFF
            } else {
                throw invalid(); // 80-C1 (stray continuation, overlong 2-byte), F5-FF
            }
        }

        private void end() {
            if (pending > 0) {
                throw invalid();
            }
        }

        private static RuntimeException invalid() {
            return ApiErrors.error(Response.Status.BAD_REQUEST, "request body is not valid UTF-8");
        }
    }
}
