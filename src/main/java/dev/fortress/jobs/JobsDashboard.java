package dev.fortress.jobs;

import com.sun.net.httpserver.BasicAuthenticator;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.jobrunr.dashboard.JobRunrApiHandler;
import org.jobrunr.dashboard.JobRunrSseHandler;
import org.jobrunr.dashboard.JobRunrStaticFileHandler;
import org.jobrunr.dashboard.server.HttpExchangeHandler;
import org.jobrunr.dashboard.server.http.RedirectHttpHandler;
import org.jobrunr.storage.StorageProvider;
import org.jobrunr.utils.mapper.JsonMapper;

/**
 * JobRunr's dashboard (its own page, API and live updates: JobRunr's handlers), on a server bound
 * to {@code jobs.dashboardBindHost}, behind basic authentication. Not JobRunr's
 * {@code JobRunrDashboardWebServer}: it binds every interface ({@code new InetSocketAddress(port)},
 * with no host setting in 8.3.1 or 8.4.1), so an operator could not keep it on the admin address;
 * and here the password is compared in constant time, the threads are bounded (JobRunr's pool is
 * unbounded), and no anonymous usage data is sent.
 */
final class JobsDashboard {

    /** Requests served at once; the rest wait in a queue of {@link #QUEUE}, and past it are refused. */
    static final int THREADS = 8;

    static final int QUEUE = 64;

    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final List<HttpExchangeHandler> handlers;

    JobsDashboard(StorageProvider storage, JsonMapper json, String host, int port, String user, String password) {
        handlers = List.of(
                new RedirectHttpHandler("/", "/dashboard"),
                new JobRunrStaticFileHandler(),
                new JobRunrApiHandler(storage, json, false),
                new JobRunrSseHandler(storage, json));
        BasicAuthenticator credentials = new BasicAuthenticator("JobRunr") {
            @Override
            public boolean checkCredentials(String givenUser, String givenPassword) {
                // Both compared, in constant time: the answer's timing says neither which nor how much matched.
                return equal(givenUser, user) & equal(givenPassword, password);
            }
        };
        executor =
                new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE), r -> {
                    Thread t = new Thread(r, "jobrunr-dashboard");
                    t.setDaemon(true);
                    return t;
                });
        executor.allowCoreThreadTimeOut(true);
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("the JobRunr dashboard cannot listen on " + host + ":" + port, e);
        }
        server.setExecutor(executor);
        for (HttpExchangeHandler handler : handlers) {
            var context = server.createContext(handler.getContextPath(), handler);
            if (!(handler instanceof RedirectHttpHandler)) {
                context.setAuthenticator(credentials);
            }
        }
    }

    private static boolean equal(String given, String expected) {
        return MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
    }

    void start() {
        server.start();
    }

    /** The address it listens on. */
    InetSocketAddress address() {
        return server.getAddress();
    }

    void stop() {
        handlers.forEach(HttpExchangeHandler::close);
        server.stop(0);
        executor.shutdownNow();
    }
}
