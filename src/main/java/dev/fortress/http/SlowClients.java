package dev.fortress.http;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.AbstractEndPoint;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes the connections of clients that hold the server without using it, and bounds the
 * connections of one address.
 * <p>
 * Our own because Jetty 12 has no deadline for request headers, none for a body that has not
 * reached the application yet, and none for a response the client does not read: its idle timeout
 * starts again with every byte, so 3,000 connections sending a header line every 5 s were never
 * closed, and its min data rates apply only inside a servlet's blocking read or write (jetty issues
 * 1973 and 4014). It looks at each connection of the application connector once per sweep
 * ({@link #sweep}, every second): a request whose headers are not complete within
 * {@code headerTimeout} of being seen, or whose body, or whose pending response, moves slower than
 * {@code minDataPerSecond} averaged from its start once it has lasted {@code minDataRateGrace}, has
 * its connection closed (a thread blocked on it is freed at once). Idle connections between requests
 * are left to the connector's idle timeout.
 */
public final class SlowClients implements Connection.Listener {

    private static final Logger LOG = LoggerFactory.getLogger(SlowClients.class);

    /** What a connection was doing when a sweep last looked, and since when. */
    private enum Phase {
        IDLE,
        HEADERS,
        BODY,
        HANDLING,
        WRITING
    }

    private static final class Watch {
        long messages = -1;
        Phase phase;
        long since;
        long bytesAtStart;
    }

    private final long headerTimeoutNanos;
    private final long minBytesPerSecond;
    private final long graceNanos;
    private final int maxPerAddress;
    private final Map<EndPoint, Watch> watches = new ConcurrentHashMap<>();
    private final Map<InetAddress, AtomicInteger> perAddress = new ConcurrentHashMap<>();
    /** Each open connection's address, kept from its opening: a closed channel no longer tells it. */
    private final Map<Connection, InetAddress> addresses = new ConcurrentHashMap<>();

    private final Meter headerTimeouts;
    private final Meter slowBodies;
    private final Meter stalledResponses;
    private final Meter overAddressLimit;

    public SlowClients(EdgeConfiguration edge, MetricRegistry metrics) {
        this.headerTimeoutNanos = edge.getHeaderTimeout().toNanoseconds();
        this.minBytesPerSecond = edge.getMinDataPerSecond().toBytes();
        this.graceNanos = edge.getMinDataRateGrace().toNanoseconds();
        this.maxPerAddress = edge.getMaxConnectionsPerAddress();
        String prefix = "dev.fortress.edge.closed";
        this.headerTimeouts = metrics.meter(MetricRegistry.name(prefix, "header-timeout"));
        this.slowBodies = metrics.meter(MetricRegistry.name(prefix, "slow-body"));
        this.stalledResponses = metrics.meter(MetricRegistry.name(prefix, "slow-response"));
        this.overAddressLimit = metrics.meter(MetricRegistry.name(prefix, "address-limit"));
        metrics.register("dev.fortress.edge.addresses", (com.codahale.metrics.Gauge<Integer>) perAddress::size);
    }

    @Override
    public void onOpened(Connection connection) {
        InetAddress address = address(connection.getEndPoint());
        if (address == null || maxPerAddress == 0) {
            return;
        }
        addresses.put(connection, address);
        // compute and computeIfPresent run atomically per address: a counter is removed at 0 and never
        // counted into after (an address that comes and goes leaves no entry).
        int open = perAddress
                .compute(address, (a, count) -> {
                    AtomicInteger next = count == null ? new AtomicInteger() : count;
                    next.incrementAndGet();
                    return next;
                })
                .get();
        if (open > maxPerAddress) {
            overAddressLimit.mark();
            abort(connection.getEndPoint());
        }
    }

    @Override
    public void onClosed(Connection connection) {
        EndPoint endPoint = connection.getEndPoint();
        watches.remove(endPoint);
        InetAddress address = addresses.remove(connection);
        if (address == null) {
            return;
        }
        perAddress.computeIfPresent(address, (a, count) -> count.decrementAndGet() <= 0 ? null : count);
    }

    /** One look at every connection of {@code connector}; run every second. */
    public void sweep(Connector connector) {
        long now = System.nanoTime();
        for (EndPoint endPoint : connector.getConnectedEndPoints()) {
            try {
                if (endPoint.getConnection() instanceof HttpConnection connection) {
                    check(endPoint, connection, now);
                }
            } catch (RuntimeException e) {
                LOG.warn("slow-client check of {} failed", endPoint, e);
            }
        }
    }

    private void check(EndPoint endPoint, HttpConnection connection, long now) {
        Phase phase = phase(endPoint, connection.getParser());
        if (phase == Phase.IDLE) {
            watches.remove(endPoint); // between requests: the idle timeout's, nothing to watch
            return;
        }
        Watch watch = watches.computeIfAbsent(endPoint, e -> new Watch());
        long messages = connection.getMessagesIn();
        long bytes = phase == Phase.WRITING ? connection.getBytesOut() : connection.getBytesIn();
        if (watch.phase != phase || watch.messages != messages) {
            watch.phase = phase;
            watch.messages = messages;
            watch.since = now;
            watch.bytesAtStart = bytes;
            return;
        }
        long elapsed = now - watch.since;
        switch (phase) {
            case HEADERS -> {
                if (elapsed > headerTimeoutNanos) {
                    close(endPoint, headerTimeouts, "its request headers took longer than the header timeout");
                }
            }
            case BODY, WRITING -> {
                if (elapsed > graceNanos
                        && (bytes - watch.bytesAtStart) * 1_000_000_000L < minBytesPerSecond * elapsed) {
                    close(
                            endPoint,
                            phase == Phase.BODY ? slowBodies : stalledResponses,
                            phase == Phase.BODY
                                    ? "its request body came slower than the minimum data rate"
                                    : "it read its response slower than the minimum data rate");
                }
            }
            default -> {}
        }
    }

    private static Phase phase(EndPoint endPoint, HttpParser parser) {
        if (endPoint instanceof AbstractEndPoint ep && ep.getWriteFlusher().isPending()) {
            return Phase.WRITING;
        }
        if (parser.isStart()) {
            return Phase.IDLE;
        }
        if (parser.inHeaderState()) {
            return Phase.HEADERS;
        }
        if (parser.inContentState()) {
            return Phase.BODY;
        }
        return Phase.HANDLING;
    }

    private void close(EndPoint endPoint, Meter meter, String why) {
        meter.mark();
        LOG.debug("closing {}: {}", endPoint.getRemoteSocketAddress(), why);
        watches.remove(endPoint);
        abort(endPoint);
    }

    /**
     * Closes with a reset (SO_LINGER 0), not a FIN queued behind unsent data: a client that reads
     * nothing would otherwise hold the kernel's buffers of the socket for minutes after Jetty let go.
     */
    private static void abort(EndPoint endPoint) {
        if (endPoint.getTransport() instanceof java.nio.channels.SocketChannel channel) {
            try {
                channel.setOption(java.net.StandardSocketOptions.SO_LINGER, 0);
            } catch (java.io.IOException | RuntimeException alreadyClosed) {
                // closing below is all that is left to do
            }
        }
        endPoint.close();
    }

    private static InetAddress address(EndPoint endPoint) {
        SocketAddress remote = endPoint.getRemoteSocketAddress();
        return remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }
}
