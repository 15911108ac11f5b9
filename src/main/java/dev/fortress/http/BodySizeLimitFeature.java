package dev.fortress.http;

import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.DynamicFeature;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.FeatureContext;
import jakarta.ws.rs.core.Response;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Enforces {@link BodySizeLimit}: a declared Content-Length over the limit is refused before
 * anything is read; a chunked body is counted as it streams and cut off at the limit.
 */
public final class BodySizeLimitFeature implements DynamicFeature {

    @Override
    public void configure(ResourceInfo resourceInfo, FeatureContext context) {
        BodySizeLimit limit = resourceInfo.getResourceMethod().getAnnotation(BodySizeLimit.class);
        if (limit != null) {
            context.register(new Filter(limit.value()));
        }
    }

    static WebApplicationException tooLarge(long limit) {
        return ApiErrors.error(
                Response.Status.REQUEST_ENTITY_TOO_LARGE, "request body larger than " + limit + " bytes");
    }

    private static final class Filter implements ContainerRequestFilter {
        private final long limit;

        Filter(long limit) {
            this.limit = limit;
        }

        @Override
        public void filter(ContainerRequestContext request) {
            if (request.getLength() > limit) {
                throw tooLarge(limit);
            }
            request.setEntityStream(new LimitedInputStream(request.getEntityStream(), limit));
        }
    }

    private static final class LimitedInputStream extends FilterInputStream {
        private final long limit;
        private long count;

        LimitedInputStream(InputStream in, long limit) {
            super(in);
            this.limit = limit;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                counted(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n > 0) {
                counted(n);
            }
            return n;
        }

        private void counted(int n) {
            count += n;
            if (count > limit) {
                throw tooLarge(limit);
            }
        }
    }
}
