package dev.fortress.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jersey.errors.ErrorMessage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.component.LifeCycle;

/**
 * Errors that Jetty answers itself, before any resource runs (a malformed request line or
 * header, a header or URI over the size limit: 400, 414, 431; a method the server refuses; the
 * 503 of a server that is shutting down), in the API's error shape
 * {@code {"code": 431, "message": "Request Header Fields Too Large"}} instead of Jetty's HTML
 * page. The message is the status's reason phrase: never the request's bytes, never internals.
 */
public final class JsonErrorHandler extends ErrorHandler {

    /** The application's: error bodies are written as its resources' are. */
    private final ObjectMapper json;

    JsonErrorHandler(ObjectMapper json) {
        this.json = json;
    }

    /** Installs the handler on the server as it starts. */
    public static void register(Environment environment) {
        environment.lifecycle().addEventListener(new LifeCycle.Listener() {
            @Override
            public void lifeCycleStarting(LifeCycle event) {
                if (event instanceof Server server) {
                    server.setErrorHandler(new JsonErrorHandler(environment.getObjectMapper()));
                }
            }
        });
    }

    /** Every method gets a body: Jetty's default leaves TRACE, CONNECT and unknown methods without one. */
    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    @Override
    protected void generateResponse(
            Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(body(code)), callback);
    }

    /** The answer to a request Jetty could not parse (no Request exists yet). */
    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/json");
        return ByteBuffer.wrap(body(status));
    }

    byte[] body(int code) {
        String reason = HttpStatus.getMessage(code);
        return body(code, reason == null ? "HTTP " + code : reason);
    }

    /** The API's error shape, {@code {"code": code, "message": message}}, for answers written outside Jersey. */
    byte[] body(int code, String message) {
        try {
            return json.writeValueAsBytes(new ErrorMessage(code, message));
        } catch (JsonProcessingException e) {
            return ("{\"code\":" + code + ",\"message\":\"HTTP " + code + "\"}").getBytes(StandardCharsets.US_ASCII);
        }
    }

    /**
     * A 503 the edge answers before any resource runs ({@link Shedding}, {@link PipelineBound}):
     * {@code body} from {@link #body(int, String)}, with {@code Retry-After: 1}, and the connection
     * closed after it when {@code close}.
     */
    static void unavailable(Response response, Callback callback, byte[] body, boolean close) {
        response.setStatus(HttpStatus.SERVICE_UNAVAILABLE_503);
        response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        if (close) {
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
        }
        response.write(true, ByteBuffer.wrap(body), callback);
    }
}
