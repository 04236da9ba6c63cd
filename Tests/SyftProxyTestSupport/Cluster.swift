import Foundation
import SyftProxyCore

/// What the replicas of a ``Cluster`` keep their state in.
public enum RedisBackendKind: String, CaseIterable, Sendable {
    /// One redis-server.
    case single
    /// A three-master Redis Cluster, named to the replicas by one node's URL.
    case cluster
}

/// N replicas on one redis-server or on a Redis Cluster, all on free loopback ports.
public final class Cluster: Sendable {
    /// The redis-server (with a Redis Cluster: its first node).
    public let redis: RedisServerProcess
    public let redisCluster: RedisClusterProcess?
    public let replicas: [ProxyProcess]
    public let environment: [String: String]

    public static func launch(replicas count: Int = 3, environment: [String: String] = [:], backend: RedisBackendKind = .single) async throws -> Cluster {
        let redisCluster = backend == .cluster ? try await RedisClusterProcess.launch(masters: 3) : nil
        let redis: RedisServerProcess
        if let redisCluster { redis = redisCluster.servers[0] } else { redis = try await RedisServerProcess.launch() }
        var env = environment
        env["PROXY_REDIS_URL"] = redisCluster?.seedURL ?? redis.url
        var replicas: [ProxyProcess] = []
        for index in 1...count {
            env["PROXY_REPLICA_ID"] = "replica-\(index)"
            replicas.append(try await ProxyProcess.launch(environment: env))
        }
        // A replica finds out what the Redis URL points at, and connects, after it starts listening.
        do {
            for replica in replicas {
                let http = HTTP(baseURL: replica.baseURL)
                try await eventually("\(replica.baseURL) is ready", within: 20) { (try? await http.get("/ready"))?.json?["status"] == "ready" }
            }
        }
        return Cluster(redis: redis, redisCluster: redisCluster, replicas: replicas, environment: env)
    }

    private init(redis: RedisServerProcess, redisCluster: RedisClusterProcess?, replicas: [ProxyProcess], environment: [String: String]) {
        self.redis = redis
        self.redisCluster = redisCluster
        self.replicas = replicas
        self.environment = environment
    }

    public func http(_ index: Int) -> HTTP { HTTP(baseURL: replicas[index].baseURL) }

    public var urls: [String] { replicas.map(\.baseURL) }

    /// Starts a replacement replica on the port of a dead one.
    public func restart(_ index: Int) async throws -> ProxyProcess {
        var env = environment
        env["PROXY_REPLICA_ID"] = "replica-\(index + 1)-restarted"
        return try await ProxyProcess.launch(environment: env, port: replicas[index].port)
    }

    public func stop() {
        for replica in replicas { replica.stop() }
        redis.stop()
        redisCluster?.stop()
    }
}

public func send(_ http: HTTP, app: String = "calculator", function: String = "add", destination: String = "bob@example.com",
          params: JSONValue = ["a": 1, "b": 2], blocking: Bool = false, timeout: Double = 20) async throws -> HTTP.Answer {
    try await http.post("/rpc/send", ["app_name": .string(app), "func_name": .string(function), "destination": .string(destination), "params": params, "blocking": .bool(blocking), "timeout": .double(timeout)])
}

public func waitForStatus(_ http: HTTP, id: String, within seconds: Double = 20, until done: (JSONValue?) -> Bool) async throws -> JSONValue? {
    let deadline = Date().addingTimeInterval(seconds)
    var last: JSONValue?
    while Date() < deadline {
        last = try? await http.get("/rpc/status/\(id)").json
        if done(last) { return last }
        try await Task.sleep(for: .milliseconds(50))
    }
    return last
}

public func isFinal(_ status: JSONValue?) -> Bool { status?["status"] == "completed" || status?["status"] == "failed" }
