package dev.fortress.imports;

import java.io.InputStream;
import java.util.UUID;

/** The stored upload as one stream, fetching one chunk at a time (never the whole file). */
final class ChunkInputStream extends InputStream {

    private final ImportDao dao;
    private final UUID importId;
    private final int chunks;
    private int next;
    private byte[] current = new byte[0];
    private int position;

    ChunkInputStream(ImportDao dao, UUID importId, int chunks) {
        this.dao = dao;
        this.importId = importId;
        this.chunks = chunks;
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) {
        while (position == current.length) {
            if (next == chunks) {
                return -1;
            }
            int seq = next++;
            current = dao.chunk(importId, seq)
                    .orElseThrow(() -> new IllegalStateException("import " + importId + " is missing chunk " + seq));
            position = 0;
        }
        int n = Math.min(length, current.length - position);
        System.arraycopy(current, position, buffer, offset, n);
        position += n;
        return n;
    }
}
