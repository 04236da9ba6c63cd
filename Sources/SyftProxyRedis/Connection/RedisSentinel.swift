import Logging
import NIOCore

/// Redis behind Sentinel: the master's address is asked of the sentinels at every connect,
/// so after a failover every reconnect lands on the promoted replica. A connection finds out
/// its server stopped being the master by a READONLY reply (it then closes, and the pool
/// reconnects) or by losing the connection.
public struct RedisSentinel: Sendable, Equatable {
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Sentinels to ask, in order; one that answers is enough.
    public var sentinels: [Endpoint]
    /// The name the sentinels monitor the master under (`sentinel monitor <name> ...`).
    public var masterName: String

    public init(sentinels: [Endpoint], masterName: String) {
        self.sentinels = sentinels
        self.masterName = masterName
    }

    /// The configuration of the current master: the sentinels' answer, with the credentials,
    /// database, TLS and timeouts of `configuration`.
    func resolveMaster(_ configuration: RedisConfiguration, eventLoop: any EventLoop, logger: Logger) async throws -> RedisConfiguration {
        var problems: [String] = []
        for endpoint in sentinels {
            var asking = RedisConfiguration(host: endpoint.host, port: endpoint.port)
            asking.tls = configuration.tls
            asking.connectTimeout = configuration.connectTimeout
            asking.commandTimeout = configuration.commandTimeout
            let connection: RedisConnection
            do { connection = try await RedisConnection.connect(configuration: asking, eventLoop: eventLoop, logger: logger) } catch {
                problems.append("sentinel \(endpoint) unreachable")
                continue
            }
            let reply: RESPValue
            do { reply = try await connection.send(RedisCommand("SENTINEL", "get-master-addr-by-name", masterName)) } catch {
                await connection.close()
                problems.append("sentinel \(endpoint): \(error)")
                continue
            }
            await connection.close()
            guard let parts = reply.array, parts.count == 2, let host = parts[0].string, let portText = parts[1].string, let port = Int(portText) else {
                problems.append("sentinel \(endpoint) monitors no master named '\(masterName)'")
                continue
            }
            var master = configuration
            master.sentinel = nil
            master.host = host
            master.port = port
            return master
        }
        throw RedisError.unavailable("no sentinel named the master '\(masterName)' (\(problems.joined(separator: "; ")))")
    }

    /// Fails unless the server the sentinels named really is a master: right after a failover
    /// a sentinel may still name the old one, now a replica or on its way to becoming one.
    static func requireMaster(_ connection: RedisConnection, name: String) async throws {
        let role = try await connection.send(RedisCommand("ROLE"))
        guard let first = role.array?.first?.string, first == "master" else {
            await connection.close()
            throw RedisError.unavailable("\(connection.configuration.endpointDescription), named master of '\(name)' by the sentinels, answers ROLE \(role.array?.first?.string ?? "?"): a failover is under way")
        }
    }
}
