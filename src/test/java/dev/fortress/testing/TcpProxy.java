package dev.fortress.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on 127.0.0.1 in front of a dependency, so a test can take the dependency away
 * ({@link #cut()}: the port refuses connections and every open connection is closed, as when
 * the server dies) and bring it back ({@link #restore()}) on the same port. Given a delay, every
 * chunk crosses it that much later in each direction, as over a network whose round trip is twice
 * the delay (chunks in flight are not held up by each other, so the throughput is the link's). This
 * kernel has no {@code netem}; bench/cluster --delayed-writer runs it with {@link #main} to validate the
 * round-trip model of docs/design/fleet.md, and counts the round trips it carries ({@link #exchanges()}).
 */
public final class TcpProxy implements AutoCloseable {

    private final String targetHost;
    private final int targetPort;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final InetAddress listenOn;
    private final long delayNanos;
    /** Every chunk through a second thread, as a delayed one goes, even without a delay. */
    private final boolean handOff;

    private int port;
    private ServerSocket listener;
    private volatile boolean cut;
    /** Guarded by {@code this}: accepted connections not passed on yet ({@link #hold}). */
    private final List<Socket> held = new ArrayList<>();

    private boolean holding;
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong exchanges = new AtomicLong();
    private final AtomicLong lateNanos = new AtomicLong();

    public TcpProxy(String targetHost, int targetPort) {
        this(InetAddress.getLoopbackAddress(), 0, targetHost, targetPort, 0);
    }

    /** Listens on {@code listenOn:listenPort} (0: any port) and delays each direction by {@code delayNanos}. */
    public TcpProxy(InetAddress listenOn, int listenPort, String targetHost, int targetPort, long delayNanos) {
        this(listenOn, listenPort, targetHost, targetPort, delayNanos, delayNanos > 0);
    }

    private TcpProxy(
            InetAddress listenOn, int listenPort, String targetHost, int targetPort, long delayNanos, boolean handOff) {
        this.listenOn = listenOn;
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.delayNanos = delayNanos;
        this.handOff = handOff;
        listen(listenPort);
    }

    /**
     * {@code TcpProxy <listen address> <listen port> <target host> <target port> <delay ms per direction>
     * [<counts port>]}: runs until killed. Every chunk goes through the writing thread of a delayed proxy,
     * at 0 ms too, so a run at 0 ms against one with a delay differs by the delay alone, not also by a
     * hand-off between two threads per chunk. With a counts port, each connection to 127.0.0.1 on it is
     * answered one line, {@code <connections> <exchanges> <late ns>} so far ({@link #connections()},
     * {@link #exchanges()}, {@link #lateNanos()}), and closed.
     */
    public static void main(String[] args) throws InterruptedException, IOException {
        if (args.length != 5 && args.length != 6) {
            System.err.println("usage: TcpProxy <listen address> <listen port> <target host> <target port> <delay ms>"
                    + " [<counts port>]");
            System.exit(2);
        }
        try (TcpProxy proxy = new TcpProxy(
                InetAddress.getByName(args[0]),
                Integer.parseInt(args[1]),
                args[2],
                Integer.parseInt(args[3]),
                (long) (Double.parseDouble(args[4]) * 1_000_000),
                true)) {
            if (args.length == 6) {
                ServerSocket counts = new ServerSocket(Integer.parseInt(args[5]), 50, InetAddress.getLoopbackAddress());
                daemon("proxy-counts", () -> {
                    while (true) {
                        try (Socket asker = counts.accept();
                                OutputStream out = asker.getOutputStream()) {
                            out.write((proxy.connections() + " " + proxy.exchanges() + " " + proxy.lateNanos() + "\n")
                                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                        } catch (IOException e) {
                            // the asker went away; answer the next
                        }
                    }
                });
            }
            System.out.println("proxy " + args[0] + ":" + proxy.port() + " -> " + args[2] + ":" + args[3] + ", "
                    + args[4] + " ms each way");
            Thread.currentThread().join();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    public int port() {
        return port;
    }

    /** Connections accepted (and passed on) so far. */
    public long connections() {
        return connections.get();
    }

    /**
     * Round trips carried so far: each time the server's side sends something after the client's side
     * sent something since the server's last chunk, on any connection (a reply to a request, counted
     * once however many chunks either makes). A new PostgreSQL connection makes several (its SSL
     * request, its start-up, each step of its authentication).
     */
    public long exchanges() {
        return exchanges.get();
    }

    /**
     * With a hand-off (a delay, or {@link #main}): nanoseconds by which the chunks so far were written
     * after their time (read time plus the delay), write included, summed: what the writing thread
     * lost waiting for a core after its time came, and the write itself. On a busy machine this is
     * the proxy's own share of a delayed row's latency beyond the delay.
     */
    public long lateNanos() {
        return lateNanos.get();
    }

    /** The JDBC URL of {@code database} through this proxy. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /**
     * Drops every open connection and closes each new one at once, as a dead link would. The
     * listener stays bound: releasing the port would let an outgoing connection take it as its
     * ephemeral port, and restore() could then not listen again.
     */
    public synchronized void cut() {
        cut = true;
        held.forEach(TcpProxy::closeQuietly);
        held.clear();
        open.forEach(TcpProxy::closeQuietly);
        open.clear();
    }

    public synchronized void restore() {
        cut = false;
    }

    /**
     * From now on (a cut ended) accepts each new connection and passes nothing on until
     * {@link #release}: a host that takes connections and answers nothing yet, as a server starting.
     */
    public synchronized void hold() {
        cut = false;
        holding = true;
    }

    /** Connections accepted and not passed on yet. */
    public synchronized int holding() {
        return held.size();
    }

    /** Passes on the connections held so far and every new one. */
    public synchronized void release() {
        holding = false;
        held.forEach(this::pass);
        held.clear();
    }

    @Override
    public synchronized void close() {
        cut();
        closeQuietly(listener);
    }

    private synchronized void listen(int wantedPort) {
        try {
            ServerSocket socket = new ServerSocket();
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(listenOn, wantedPort));
            listener = socket;
            port = socket.getLocalPort();
            daemon("proxy-accept-" + port, () -> accept(socket));
        } catch (IOException e) {
            throw new IllegalStateException("proxy cannot listen on " + wantedPort, e);
        }
    }

    private void accept(ServerSocket socket) {
        while (!socket.isClosed()) {
            try {
                Socket client = socket.accept();
                if (cut) {
                    closeQuietly(client);
                    continue;
                }
                synchronized (this) {
                    if (holding) {
                        held.add(client);
                        continue;
                    }
                }
                pass(client);
            } catch (IOException e) {
                // listener closed by cut()
            }
        }
    }

    /** Connects {@code client} to the target and copies both ways; closes it when the target refuses. */
    private void pass(Socket client) {
        try {
            Socket upstream = new Socket(targetHost, targetPort);
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            open.add(client);
            open.add(upstream);
            connections.incrementAndGet();
            AtomicBoolean asked = new AtomicBoolean();
            daemon("proxy-up-" + port, () -> pump(client, upstream, () -> asked.set(true)));
            daemon(
                    "proxy-down-" + port,
                    () -> pump(upstream, client, () -> {
                        if (asked.getAndSet(false)) {
                            exchanges.incrementAndGet();
                        }
                    }));
        } catch (IOException e) {
            closeQuietly(client); // upstream refused: the client sees a closed socket
        }
    }

    /** Copies {@code from} to {@code to}, telling {@code onChunk} of each chunk read. */
    private void pump(Socket from, Socket to, Runnable onChunk) {
        if (handOff) {
            delayedPump(from, to, onChunk);
            return;
        }
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                onChunk.run();
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // one side went away; close both below
        } finally {
            closeQuietly(from);
            closeQuietly(to);
            open.remove(from);
            open.remove(to);
        }
    }

    /** A chunk read at {@code readNanos}, written {@code delayNanos} after it; an empty one: the end. */
    private record Chunk(long readNanos, byte[] bytes) {}

    /** Reads as {@link #pump} does; a second thread writes each chunk once its delay has passed. */
    private void delayedPump(Socket from, Socket to, Runnable onChunk) {
        java.util.concurrent.BlockingQueue<Chunk> chunks = new java.util.concurrent.LinkedBlockingQueue<>();
        daemon("proxy-delay-" + port, () -> {
            try (OutputStream out = to.getOutputStream()) {
                while (true) {
                    Chunk chunk = chunks.take();
                    if (chunk.bytes().length == 0) {
                        break;
                    }
                    long due = chunk.readNanos() + delayNanos;
                    long wait;
                    while ((wait = due - System.nanoTime()) > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                    }
                    out.write(chunk.bytes());
                    out.flush();
                    lateNanos.addAndGet(System.nanoTime() - due);
                }
            } catch (IOException | InterruptedException e) {
                // one side went away
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        });
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                onChunk.run();
                chunks.add(new Chunk(System.nanoTime(), java.util.Arrays.copyOf(buffer, n)));
            }
        } catch (IOException e) {
            // one side went away
        } finally {
            chunks.add(new Chunk(System.nanoTime(), new byte[0]));
        }
    }

    private static void daemon(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(java.io.Closeable closeable) {
        try {
            if (closeable != null) {
                closeable.close();
            }
        } catch (IOException ignored) {
            // already closed
        }
    }
}
