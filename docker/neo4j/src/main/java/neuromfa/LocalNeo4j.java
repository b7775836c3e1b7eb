package neuromfa;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Neo4j Community embedded, served over Bolt on 127.0.0.1 only, authentication on.
 *
 * <p>Usage: {@code LocalNeo4j HOME PORT PAGECACHE_BYTES}; the password of user {@code neo4j}
 * is the first line of standard input (never an argument, so {@code ps} does not show it).
 * On the first start (no {@code HOME/neuromfa-password-set}) the DBMS starts once without Bolt
 * to set that password, so Bolt never serves the default {@code neo4j/neo4j}. Prints
 * {@code neuromfa: ready} when Bolt listens; SIGTERM shuts down cleanly.
 */
public final class LocalNeo4j {
    private LocalNeo4j() {}

    private static DatabaseManagementService build(Path home, Integer port, long pagecache) {
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pagecache)
                // LOAD CSV must not read the machine's files: a read-only query could otherwise
                // return any file the server can read (the embedded default has no import root)
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                // no usage reports, no HTTP: only Bolt on the loopback address
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(BoltConnector.enabled, port != null);
        if (port != null) {
            builder.setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port));
        }
        return builder.build();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: LocalNeo4j HOME PORT PAGECACHE_BYTES (password on stdin)");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        long pagecache = Long.parseLong(args[2]);
        String password;
        try (BufferedReader in = new BufferedReader(
                new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            password = in.readLine();
        }
        if (password == null || password.length() < 8) {
            System.err.println("neuromfa: the password on stdin is missing or shorter than 8");
            System.exit(2);
        }
        Path marker = home.resolve("neuromfa-password-set");
        if (!Files.exists(marker)) {
            DatabaseManagementService setup = build(home, null, pagecache);
            try {
                setup.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                        Map.of("password", password));
            } finally {
                setup.shutdown();
            }
            Files.writeString(marker, "1\n");
        }
        DatabaseManagementService dbms = build(home, port, pagecache);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                dbms.shutdown();
            } finally {
                stopped.countDown();
            }
        }, "neuromfa-shutdown"));
        System.out.println("neuromfa: ready on 127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }
}
