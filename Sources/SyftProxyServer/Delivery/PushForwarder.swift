import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ServiceLifecycle
import SyftProxyCore
import SyftProxySyftBox

/// Push delivery: takes leased requests off the shared push queue and POSTs each to the URL
/// its app registered. Runs on every replica; a replica that dies mid-delivery leaves a lease
/// behind, and the sweeper of any replica puts the request back when the lease expires.
public struct PushForwarder: Service {
    let store: any RPCStore
    let client: HTTPClient
    let concurrency: Int
    let maximumResponseBytes: Int
    let leaseSeconds: Double
    let metrics: ProxyMetrics
    let logger: Logger
    let syftBox: SyftBoxTransport?

    public init(store: any RPCStore, client: HTTPClient, configuration: ProxyConfiguration, metrics: ProxyMetrics, logger: Logger,
                syftBox: SyftBoxTransport? = nil) {
        self.store = store
        self.client = client
        self.concurrency = configuration.pushConcurrency
        self.maximumResponseBytes = configuration.maxBodyBytes
        self.leaseSeconds = configuration.leaseSeconds
        self.metrics = metrics
        self.logger = logger
        self.syftBox = syftBox
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await dispatch()
        }
    }

    /// One loop leases as many deliveries as there are free slots and runs each in its own
    /// child task; an idle replica costs one store call per wake-up, not one per slot.
    private func dispatch() async {
        let slots = ConcurrencySlots(capacity: concurrency)
        var backoff = Backoff()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let free = await slots.waitForFree()
                guard free > 0 else { continue }
                do {
                    let deliveries = try await store.leasePush(max: free)
                    backoff.reset()
                    if deliveries.isEmpty {
                        try await store.waitForPushWork(until: Timestamp.now() + 1)
                        continue
                    }
                    for delivery in deliveries {
                        slots.take()
                        group.addTask {
                            await deliver(delivery)
                            slots.give()
                        }
                    }
                } catch {
                    logger.debug("push queue unavailable", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: backoff.next())
                }
            }
        }
    }

    func deliver(_ delivery: PushDelivery) async {
        let record = delivery.record
        if SyftBoxEndpoint.isAppURL(delivery.url) {
            await deliverThroughSyftBox(record)
            return
        }
        var retry = Backoff()
        while !Task.isCancelled {
            let remaining = min(record.deadline, Timestamp.now() + leaseSeconds) - Timestamp.now()
            guard remaining > 0 else { return }
            do {
                let answer = try await post(delivery, timeout: remaining)
                metrics.delivered(count: 1, mode: "push")
                guard let answer else { return }
                switch try await store.answer(id: record.id, with: answer, leaseToken: record.leaseToken) {
                case .accepted(let final): metrics.finished(final)
                case .leaseLost:
                    // This delivery outlived its lease and the request went out again; the
                    // delivery holding the lease now answers it.
                    logger.info("push answer came after the lease passed to another delivery; ignored", metadata: ["id": "\(record.id)"])
                case .alreadyFinal, .notFound: break
                }
                return
            } catch let error where Self.isRefusedConnection(error) {
                // The app is not listening yet: nothing reached it, so retrying cannot run it twice.
                metrics.pushFailure("connect")
                logger.debug("push endpoint refused connection", metadata: ["id": "\(record.id)", "url": "\(delivery.url)", "error": "\(error)"])
                let pause = retry.next()
                guard Timestamp.now() + pause.seconds < record.deadline else { return }
                try? await Task.sleep(for: pause)
                guard let token = record.leaseToken, (try? await store.renewLease(id: record.id, token: token)) == .renewed else { return }
            } catch where Task.isCancelled {
                break
            } catch {
                // The request may have reached the app; the lease decides whether it is sent again.
                metrics.pushFailure("transport")
                logger.info("push delivery failed; it is redelivered when its lease expires", metadata: ["id": "\(record.id)", "url": "\(delivery.url)", "error": "\(error)"])
                return
            }
        }
        // Shutting down mid-delivery: hand the request back now rather than leaving it leased
        // to a process that is going away until the lease runs out.
        if Task.isCancelled, let token = record.leaseToken {
            try? await store.releaseLease(id: record.id, token: token)
            logger.info("push delivery handed back on shutdown", metadata: ["id": "\(record.id)"])
        }
    }

    /// Endpoints registered as `syft://…` go to the datasites folder. Every replica sharing a
    /// Redis must share the SyftBox settings; one without them fails the request, saying so,
    /// rather than holding it back from the replicas that could deliver it.
    private func deliverThroughSyftBox(_ record: RPCRecord) async {
        guard let syftBox else {
            logger.error("a SyftBox delivery reached a replica without PROXY_SYFTBOX_DATA_DIR", metadata: ["id": "\(record.id)"])
            let message = "the app is registered for SyftBox delivery, but the replica that took the request has no SyftBox folder configured; set PROXY_SYFTBOX_DATA_DIR and PROXY_SYFTBOX_EMAIL on every replica"
            if case .accepted(let final)? = try? await store.answer(id: record.id, with: .error(message)) { metrics.finished(final) }
            return
        }
        await syftBox.deliver(record)
        metrics.delivered(count: 1, mode: "syftbox")
    }

    /// POSTs the request and turns the app's answer into an RPCAnswer; nil when the app took
    /// the request for a later POST /rpc/reply (202 Accepted).
    private func post(_ delivery: PushDelivery, timeout: Double) async throws -> RPCAnswer? {
        let record = delivery.record
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Request-ID", value: record.id)
        request.headers.add(name: "traceparent", value: TraceParent.child(of: record.traceparent))
        request.body = .bytes(ByteBuffer(bytes: record.inboxJSON.compactBytes))
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let body = try await response.body.collect(upTo: maximumResponseBytes)
        let bytes = body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? []
        let parsed = try? JSONParser.parse(bytes)
        let status = response.status
        if status == .accepted, bytes.isEmpty { return nil }
        if (200..<300).contains(status.code) {
            if let parsed {
                if case .object(let object) = parsed, let result = object["result"] { return .result(result) }
                return .result(parsed)
            }
            return .result(bytes.isEmpty ? .null : .string(String(decoding: bytes, as: UTF8.self)))
        }
        if let message = parsed?["error"]?.stringValue ?? parsed?["detail"]?.stringValue {
            return .error(message)
        }
        return .error("the app answered HTTP \(status.code) \(status.reasonPhrase)")
    }

    static func isRefusedConnection(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if error is NIOConnectionError { return true }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return true }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        let text = String(describing: error)
        return text.contains("Connection refused") || text.contains("connection refused")
    }
}

/// Exponential backoff with jitter, 50 ms doubling to 2 s.
struct Backoff {
    private var attempt = 0

    mutating func reset() { attempt = 0 }

    mutating func next() -> Duration {
        let base = min(2.0, 0.05 * Double(1 << min(attempt, 6)))
        attempt += 1
        return .milliseconds(Int64(base * Double.random(in: 0.5...1.0) * 1000))
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
