import Logging
import ServiceLifecycle
import Synchronization
import SyftProxyCore

/// The address the replica listens on, known once the server is bound (the port may be 0
/// until then).
final class BoundAddress: Sendable {
    private let value: Mutex<(address: String, bound: Bool)>
    init(_ configured: String) { value = Mutex((configured, false)) }
    func set(_ address: String) { value.withLock { $0 = (address, true) } }
    var current: String { value.withLock { $0.address } }
    var isBound: Bool { value.withLock { $0.bound } }
}

/// Publishes this replica's heartbeat into the store every ``AdminLimits/heartbeatInterval``,
/// so any replica can list every live one (GET /admin/replicas); a replica that stops is gone
/// from the list after ``AdminLimits/heartbeatTTL``.
struct HeartbeatService: Service {
    let environment: ProxyEnvironment
    let address: BoundAddress
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // The first heartbeat names the bound port (the configured one may be 0).
            let bindDeadline = Timestamp.now() + 5
            while !address.isBound, Timestamp.now() < bindDeadline, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
            }
            var last = Timestamp.now()
            while !Task.isCancelled {
                let now = Timestamp.now()
                let taken = environment.metrics.roundTrips.take()
                let heartbeat = ReplicaHeartbeat(
                    id: environment.replicaID, version: environment.version, address: address.current, startedAt: environment.startedAt,
                    inFlight: environment.metrics.inFlightNow.load(ordering: .relaxed),
                    roundTripsPerSecond: Double(taken.count) / max(0.001, now - last),
                    p50Seconds: taken.p50, p99Seconds: taken.p99)
                last = now
                do { try await environment.store.publishHeartbeat(heartbeat) } catch {
                    logger.debug("heartbeat not stored; the next one tries again", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(AdminLimits.heartbeatInterval))
            }
        }
    }
}
