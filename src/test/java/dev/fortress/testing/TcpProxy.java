package dev.fortress.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on 127.0.0.1 in front of a dependency, so a test can take the dependency away
 * ({@link #cut()}: the port refuses connections and every open connection is closed, as when
 * the server dies) and bring it back ({@link #restore()}) on the same port. Given a delay, every
 * chunk crosses it that much later in each direction, as over a network whose round trip is twice
 * the delay (chunks in flight are not held up by each other, so the throughput is the link's). This
 * kernel has no {@code netem}; bench/cluster --delayed-writer runs it with {@link #main} to validate the
 * round-trip model of docs/design/fleet.md.
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
     * {@code TcpProxy <listen address> <listen port> <target host> <target port> <delay ms per direction>}:
     * runs until killed. Every chunk goes through the writing thread of a delayed proxy, at 0 ms too, so
     * a run at 0 ms against one with a delay differs by the delay alone, not also by a hand-off between
     * two threads per chunk.
     */
    public static void main(String[] args) throws InterruptedException {
        if (args.length != 5) {
            System.err.println("usage: TcpProxy <listen address> <listen port> <target host> <target port> <delay ms>");
            System.exit(2);
        }
        try (TcpProxy proxy = new TcpProxy(
                InetAddress.getByName(args[0]),
                Integer.parseInt(args[1]),
                args[2],
                Integer.parseInt(args[3]),
                (long) (Double.parseDouble(args[4]) * 1_000_000),
                true)) {
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
        open.forEach(TcpProxy::closeQuietly);
        open.clear();
    }

    public synchronized void restore() {
        cut = false;
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
                Socket upstream = new Socket(targetHost, targetPort);
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                open.add(client);
                open.add(upstream);
                daemon("proxy-up-" + port, () -> pump(client, upstream));
                daemon("proxy-down-" + port, () -> pump(upstream, client));
            } catch (IOException e) {
                // listener closed by cut(), or upstream refused: the client sees a closed socket
            }
        }
    }

    private void pump(Socket from, Socket to) {
        if (handOff) {
            delayedPump(from, to);
            return;
        }
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
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
    private void delayedPump(Socket from, Socket to) {
        java.util.concurrent.BlockingQueue<Chunk> chunks = new java.util.concurrent.LinkedBlockingQueue<>();
        daemon("proxy-delay-" + port, () -> {
            try (OutputStream out = to.getOutputStream()) {
                while (true) {
                    Chunk chunk = chunks.take();
                    if (chunk.bytes().length == 0) {
                        break;
                    }
                    long wait;
                    while ((wait = chunk.readNanos() + delayNanos - System.nanoTime()) > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                    }
                    out.write(chunk.bytes());
                    out.flush();
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
