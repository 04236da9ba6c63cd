import Logging
import ServiceLifecycle
import Synchronization
import SyftProxyCore

/// Push outcomes per (app, destination), gathered in memory on this replica and written to the
/// store by ``EndpointHealthService`` at most once a second: the per-delivery path never waits
/// on the store for them.
public final class EndpointHealthRecorder: Sendable {
    private let pending = Mutex<[QueueName: EndpointHealthReport]>([:])

    public init() {}

    func succeeded(_ record: RPCRecord) {
        let name = QueueName(appName: record.appName, destination: record.destination)
        let now = Timestamp.now()
        pending.withLock { $0[name, default: Self.report(name)].succeeded(at: now) }
    }

    func failed(_ record: RPCRecord, _ message: String) {
        let name = QueueName(appName: record.appName, destination: record.destination)
        let now = Timestamp.now()
        pending.withLock { $0[name, default: Self.report(name)].failed(at: now, message) }
    }

    private static func report(_ name: QueueName) -> EndpointHealthReport {
        EndpointHealthReport(appName: name.appName, destination: name.destination)
    }

    /// What was gathered since the last call.
    func take() -> [EndpointHealthReport] {
        pending.withLock { pending in
            defer { pending = [:] }
            return Array(pending.values)
        }
    }
}

/// Writes the recorder's reports once a second (one store call per shard with news).
struct EndpointHealthService: Service {
    let recorder: EndpointHealthRecorder
    let store: any RPCStore
    let logger: Logger
    static let interval = 1.0

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(Self.interval))
                let reports = recorder.take()
                guard !reports.isEmpty else { continue }
                do { try await store.recordEndpointHealth(reports) } catch {
                    logger.debug("endpoint health not stored; this interval's figures are dropped", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
