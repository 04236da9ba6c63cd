import Foundation

/// A Redis Cluster of throwaway redis-servers on free loopback ports: `masters` masters that
/// share the 16384 slots evenly, each with `replicasPerMaster` replicas. Every node is a
/// ``RedisServerProcess``, so one can be killed (`stop()`) and started again on its port.
public final class RedisClusterProcess: Sendable {
    public let servers: [RedisServerProcess]
    /// Each server's TLS port, in the order of `servers`; empty without TLS.
    public let tlsPorts: [Int]
    private let configDirectory: String

    /// One node as `CLUSTER NODES` describes it.
    public struct Node: Sendable, Equatable {
        public let id: String
        public let port: Int
        public let isMaster: Bool
        /// The master's id, for a replica.
        public let masterID: String?
        public let isFailed: Bool
        public let slots: [ClosedRange<Int>]

        public var slotCount: Int { slots.reduce(0) { $0 + $1.count } }
        public func owns(_ slot: Int) -> Bool { slots.contains { $0.contains(slot) } }
    }

    private init(servers: [RedisServerProcess], tlsPorts: [Int], configDirectory: String) {
        self.servers = servers
        self.tlsPorts = tlsPorts
        self.configDirectory = configDirectory
    }

    /// One node's URL: enough for a cluster-aware client to find the rest.
    public var seedURL: String { "redis://127.0.0.1:\(servers[0].port)" }
    /// Every node, comma-separated.
    public var seedsURL: String { "redis://" + servers.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") }

    /// With `tls`, every node also serves TLS on a port of its own (`tlsPorts`) and speaks TLS
    /// on the cluster bus, so it announces its TLS port (CLUSTER SHARDS' `tls-port`); the plain
    /// ports stay for the launcher's own checks.
    public static func launch(
        masters: Int = 3, replicasPerMaster: Int = 0, options: [String] = [], tls: TestCertificates? = nil
    ) async throws -> RedisClusterProcess {
        let directory = NSTemporaryDirectory() + "syft-redis-cluster-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var servers: [RedisServerProcess] = []
        var tlsPorts: [Int] = []
        do {
            for _ in 0..<(masters * (1 + replicasPerMaster)) {
                let port = try FreePort.findWithClusterBus()
                var tlsOptions: [String] = []
                if let tls {
                    // With TLS on the bus, the bus port is the TLS port + 10000.
                    let tlsPort = try FreePort.findWithClusterBus()
                    tlsPorts.append(tlsPort)
                    tlsOptions = [
                        "--tls-port", String(tlsPort), "--tls-cert-file", tls.serverCertificate, "--tls-key-file", tls.serverKey,
                        "--tls-ca-cert-file", tls.caFile, "--tls-auth-clients", "no", "--tls-cluster", "yes", "--tls-replication", "yes",
                        // The bus always asks the connecting node for a client certificate.
                        "--tls-client-cert-file", tls.clientCertificate, "--tls-client-key-file", tls.clientKey,
                    ]
                }
                servers.append(try await RedisServerProcess.launch(port: port, options: [
                    "--cluster-enabled", "yes", "--cluster-config-file", "\(directory)/nodes-\(port).conf",
                    "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0",
                ] + tlsOptions + options))
            }
            let cluster = RedisClusterProcess(servers: servers, tlsPorts: tlsPorts, configDirectory: directory)
            // With TLS on the bus, nodes must meet at their TLS ports.
            let tlsArguments = tls.map { ["--tls", "--cacert", $0.caFile] } ?? []
            let createPorts = tls == nil ? servers.map(\.port) : tlsPorts
            let password = servers[0].password
            let arguments = tlsArguments + ["--cluster", "create"] + createPorts.map { "127.0.0.1:\($0)" } + [
                "--cluster-replicas", String(replicasPerMaster), "--cluster-yes",
            ]
            let created = try await offThePool { try runRedisCLI(port: createPorts[0], password: password, arguments, within: 60) }
            guard created.contains("All 16384 slots covered") else { throw TestFailure("redis-cli --cluster create failed:\n\(created)") }
            try await cluster.waitUntilHealthy(masters: masters)
            return cluster
        } catch {
            for server in servers { server.stop() }
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// The cluster as the first node that answers sees it.
    public func nodes() throws -> [Node] {
        for server in servers {
            guard let text = try? server.redisCLI(["CLUSTER", "NODES"]), text.contains("myself") else { continue }
            return text.split(separator: "\n").compactMap(Self.parse)
        }
        throw TestFailure("no cluster node answered CLUSTER NODES")
    }

    public var masters: [Node] { get throws { try nodes().filter { $0.isMaster && !$0.isFailed } } }

    public func master(owning slot: Int) throws -> Node {
        guard let node = try masters.first(where: { $0.owns(slot) }) else { throw TestFailure("no master owns slot \(slot)") }
        return node
    }

    public func server(port: Int) -> RedisServerProcess? { servers.first { $0.port == port } }

    /// Waits until every running node says the cluster is ok, agrees on `masters` masters
    /// covering all slots, and every replica's link to its master is up.
    public func waitUntilHealthy(masters: Int? = nil, within seconds: Double = 30) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        var last = ""
        while clock.now < deadline {
            if let problem = await offThePool({ self.healthProblem(masters: masters) }) { last = problem } else { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("the Redis Cluster did not become healthy within \(Int(seconds)) s: \(last)")
    }

    private func healthProblem(masters expected: Int?) -> String? {
        for server in servers where FreePort.isListening(server.port) {
            guard let info = try? server.redisCLI(["CLUSTER", "INFO"]) else { return "127.0.0.1:\(server.port) does not answer" }
            guard info.contains("cluster_state:ok"), info.contains("cluster_slots_ok:16384") else { return "127.0.0.1:\(server.port): \(info)" }
            if let replication = try? server.redisCLI(["INFO", "replication"]), replication.contains("role:slave"),
                !replication.contains("master_link_status:up")
            {
                return "replica 127.0.0.1:\(server.port) is not linked to its master"
            }
        }
        guard let nodes = try? nodes() else { return "no node answers" }
        let live = nodes.filter { $0.isMaster && !$0.isFailed && $0.slotCount > 0 }
        if let expected, live.count != expected { return "\(live.count) masters with slots, expected \(expected)" }
        return nil
    }

    /// Moves `slots` slots, keys included, from one master to another with
    /// `redis-cli --cluster reshard`, and waits until the cluster is healthy again.
    public func reshard(slots: Int, from source: Node, to target: Node) async throws {
        let password = servers.first?.password
        let arguments = [
            "--cluster", "reshard", "127.0.0.1:\(target.port)", "--cluster-from", source.id, "--cluster-to", target.id,
            "--cluster-slots", String(slots), "--cluster-yes", "--cluster-pipeline", "100",
        ]
        let output = try await offThePool { try runRedisCLI(port: target.port, password: password, arguments, within: 120) }
        if output.contains("[ERR]") { throw TestFailure("redis-cli --cluster reshard failed:\n\(output)") }
        try await waitUntilHealthy()
    }

    public func stop() {
        for server in servers { server.stop() }
        try? FileManager.default.removeItem(atPath: configDirectory)
    }

    deinit { stop() }

    /// `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot> ...`
    static func parse(_ line: Substring) -> Node? {
        let fields = line.split(separator: " ").map(String.init)
        guard fields.count >= 8, let address = fields[1].split(separator: "@").first,
            let port = address.split(separator: ":").last.flatMap({ Int($0) })
        else { return nil }
        let flags = fields[2].split(separator: ",")
        let slots: [ClosedRange<Int>] = fields.dropFirst(8).compactMap { field in
            // Slots being imported or migrated show as [slot->-id]; they belong to no range yet.
            guard !field.hasPrefix("[") else { return nil }
            let bounds = field.split(separator: "-").compactMap { Int($0) }
            if bounds.count == 2 { return bounds[0]...bounds[1] }
            return bounds.first.map { $0...$0 }
        }
        return Node(
            id: fields[0], port: port, isMaster: flags.contains("master"), masterID: fields[3] == "-" ? nil : fields[3],
            isFailed: flags.contains("fail") || flags.contains("fail?"), slots: slots)
    }
}

/// Runs blocking work (redis-cli runs, polled with sleeps) on a thread of its own, so that a
/// cluster test waiting for a reshard does not hold one of the few threads every other
/// concurrently running test needs.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

func offThePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
