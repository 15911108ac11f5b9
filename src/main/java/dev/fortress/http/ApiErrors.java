package dev.fortress.http;

import io.dropwizard.jersey.errors.ErrorMessage;
import io.dropwizard.jersey.validation.ValidationErrorMessage;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;

/** The API's two error shapes (see docs/api.md), as exceptions a resource throws. */
public final class ApiErrors {

    private ApiErrors() {}

    /** {@code {"code": status, "message": message}}, for resources to throw. */
    public static WebApplicationException error(Response.Status status, String message) {
        return new WebApplicationException(response(status, message).build());
    }

    /** The same for a status JAX-RS has no constant for (422). */
    public static WebApplicationException error(int status, String message) {
        return new WebApplicationException(Response.status(status)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(new ErrorMessage(status, message))
                .build());
    }

    /** A 404 in the API's shape, returned rather than thrown: a miss on a hot route costs what a hit does. */
    public static Response notFound(String message) {
        return response(Response.Status.NOT_FOUND, message).build();
    }

    /** The 404 for a path segment that is no id at all, worded as Jersey words its own 404. */
    public static Response notFound() {
        return notFound("HTTP 404 Not Found");
    }

    /** The same answer, for exception mappers to complete (headers) and build. */
    public static Response.ResponseBuilder response(Response.Status status, String message) {
        return Response.status(status)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(new ErrorMessage(status.getStatusCode(), message));
    }

    /** 422 {@code {"errors": [message]}}, as Bean Validation answers. */
    public static WebApplicationException invalid(String message) {
        return new WebApplicationException(Response.status(422)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(new ValidationErrorMessage(List.of(message)))
                .build());
    }
}
