package dev.fortress.ops;

import static org.assertj.core.api.Assertions.assertThat;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;

/**
 * The warm-up sends its requests to the address the application port listens on: loopback when it
 * listens on every address, else its one bound address (a fleet's host binds only its own: bin/cluster),
 * where loopback would be refused.
 */
class WarmupAddressTest {

    @Test
    void callsTheBoundAddressWhenTheConnectorHasOne() throws Exception {
        // Any 127.x address is local on Linux: one other than 127.0.0.1 shows which was chosen.
        assertThat(localHostOf("127.0.0.2")).isEqualTo("127.0.0.2");
    }

    @Test
    void callsLoopbackWhenTheConnectorListensOnEveryAddress() throws Exception {
        assertThat(localHostOf("0.0.0.0")).isEqualTo("127.0.0.1");
        assertThat(localHostOf(null)).isEqualTo("127.0.0.1");
    }

    private static String localHostOf(String bindHost) throws Exception {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(bindHost);
        connector.setPort(0);
        server.addConnector(connector);
        connector.open();
        try {
            return Warmup.localHost(server, connector.getLocalPort());
        } finally {
            connector.close();
        }
    }
}
