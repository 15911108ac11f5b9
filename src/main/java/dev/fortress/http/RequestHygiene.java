package dev.fortress.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import dev.fortress.db.LogLimiter;
import io.dropwizard.core.setup.Environment;

/**
 * What the service does with malformed requests, in one place: every refusal is a 4xx in the
 * API's error shape and none reaches the database or becomes a 500.
 * <ul>
 *   <li>JSON with a key twice ({@code {"age":30,"age":999}}) is ambiguous: refused (400), where
 *       Jackson would keep one value, or fail on a record's second value with a 500;</li>
 *   <li>a fraction where an integer belongs ({@code "orgId": 1.9}) is refused (400), where Jackson
 *       would silently store 1;</li>
 *   <li>JSON bodies must be well-formed UTF-8 ({@link StrictUtf8Json});</li>
 *   <li>what Jetty refuses before any resource runs answers JSON too ({@link JsonErrorHandler});</li>
 *   <li>a body over its route's {@link BodySizeLimit} is refused (413) as it streams;</li>
 *   <li>a database that is down answers 503, any other database error a 500 with a log id and
 *       nothing of the SQL ({@link DatabaseExceptionMapper}).</li>
 * </ul>
 */
public final class RequestHygiene {

    private RequestHygiene() {}

    /** @return the database error mapper it registered with Jersey, for the routes in front of Jersey */
    public static DatabaseExceptionMapper register(Environment environment, LogLimiter logs) {
        environment
                .getObjectMapper()
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        environment.jersey().register(new StrictUtf8Json());
        environment.jersey().register(new BodySizeLimitFeature());
        DatabaseExceptionMapper databaseErrors = new DatabaseExceptionMapper(logs);
        environment.jersey().register(databaseErrors);
        JsonErrorHandler.register(environment);
        return databaseErrors;
    }
}
