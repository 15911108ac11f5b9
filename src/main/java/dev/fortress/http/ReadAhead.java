package dev.fortress.http;

import java.util.ArrayDeque;
import java.util.Deque;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.EagerContentHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * Reads a whole request body before its request reaches the next handler, without a thread while the
 * bytes come: Jetty's {@code RetainedContentLoaderFactory}, except that a body that fails (its
 * connection closed by {@link SlowClients}, or by the client) ends the request there. Jetty's hands
 * the failed request on, so 1,500 slow bodies closed in one sweep became 1,500 requests at once that
 * took every place of {@link Shedding} and shed polite requests (bench/hostile).
 */
final class ReadAhead implements EagerContentHandler.ContentLoaderFactory {

    private final long maxBytes;

    /** @param maxBytes past this much (a chunked body of no declared length) the request goes on with what came */
    ReadAhead(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    public String getApplicableMimeType() {
        return null;
    }

    @Override
    public EagerContentHandler.ContentLoader newContentLoader(
            String contentType,
            String mimeType,
            Handler handler,
            Request request,
            Response response,
            Callback callback) {
        return new Loader(handler, request, response, callback, maxBytes);
    }

    private static final class Loader extends EagerContentHandler.ContentLoader implements Invocable.Task {

        private final Deque<Content.Chunk> chunks = new ArrayDeque<>();
        private final long maxBytes;
        private long bytes;

        Loader(Handler handler, Request request, Response response, Callback callback, long maxBytes) {
            super(handler, request, response, callback);
            this.maxBytes = maxBytes;
        }

        @Override
        protected void load() {
            read(false);
        }

        @Override
        public void run() {
            read(true);
        }

        @Override
        public InvocationType getInvocationType() {
            return InvocationType.NON_BLOCKING;
        }

        private void read(boolean fromDemand) {
            while (true) {
                Content.Chunk chunk = getRequest().read();
                if (chunk == null) {
                    getRequest().demand(this);
                    return;
                }
                if (Content.Chunk.isFailure(chunk)) {
                    release();
                    getCallback().failed(chunk.getFailure());
                    return;
                }
                chunks.add(chunk);
                bytes += chunk.remaining();
                if (chunk.isLast() || bytes > maxBytes) {
                    Replay replay = new Replay(getRequest(), getCallback(), chunks);
                    if (fromDemand) {
                        getRequest().getContext().execute(() -> handle(replay, getResponse(), replay));
                    } else {
                        handle(replay, getResponse(), replay);
                    }
                    return;
                }
            }
        }

        private void release() {
            chunks.forEach(Content.Chunk::release);
            chunks.clear();
        }
    }

    /** The request with the chunks read ahead given back first, released when the request completes. */
    private static final class Replay extends Request.Wrapper implements Callback {

        private final Callback callback;
        private final Deque<Content.Chunk> chunks;

        Replay(Request wrapped, Callback callback, Deque<Content.Chunk> chunks) {
            super(wrapped);
            this.callback = callback;
            this.chunks = chunks;
        }

        @Override
        public Content.Chunk read() {
            Content.Chunk chunk = chunks.pollFirst();
            return chunk != null ? chunk : super.read();
        }

        @Override
        public InvocationType getInvocationType() {
            return callback.getInvocationType();
        }

        @Override
        public void succeeded() {
            release();
            callback.succeeded();
        }

        @Override
        public void failed(Throwable failure) {
            release();
            callback.failed(failure);
        }

        private void release() {
            chunks.forEach(Content.Chunk::release);
            chunks.clear();
        }
    }
}
