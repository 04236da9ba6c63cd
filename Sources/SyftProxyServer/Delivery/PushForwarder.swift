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
    let endpointShare: Int
    let maximumResponseBytes: Int
    let leaseSeconds: Double
    let policy: PushAddressPolicy
    let endpointBackoff = EndpointBackoff()
    let metrics: ProxyMetrics
    let logger: Logger
    let syftBox: SyftBoxTransport?
    let health: EndpointHealthRecorder

    /// How long a delivery to an endpoint at its limit waits on this replica for one of the
    /// endpoint's slots before it goes back to the store.
    static let localWait = 0.5
    /// How long such a delivery then waits in the store before it is leased again; long
    /// enough that circling it costs little, short next to most timeouts.
    static let busyDeferral = 1.0

    public init(store: any RPCStore, client: HTTPClient, configuration: ProxyConfiguration, metrics: ProxyMetrics, logger: Logger,
                syftBox: SyftBoxTransport? = nil, health: EndpointHealthRecorder = EndpointHealthRecorder()) {
        self.health = health
        self.store = store
        self.client = client
        self.concurrency = configuration.pushConcurrency
        self.endpointShare = configuration.pushEndpointConcurrency
        self.maximumResponseBytes = configuration.maxBodyBytes
        self.leaseSeconds = configuration.leaseSeconds
        self.policy = PushAddressPolicy(configuration: configuration)
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
    /// child task; an idle replica costs one store call per wake-up, not one per slot. A
    /// delivery whose endpoint is at its share waits briefly for that endpoint's slot, then goes
    /// back to the store for a moment (its lease deferred, its attempt not counted): it leaves
    /// the push list meanwhile, so the loop moves on to other apps' work rather than circling it.
    private func dispatch() async {
        let slots = PushSlots(capacity: concurrency, share: endpointShare)
        var storeBackoff = Backoff()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let free = await slots.waitForFree()
                guard free > 0 else { continue }
                do {
                    let deliveries = try await store.leasePush(max: free)
                    storeBackoff.reset()
                    if deliveries.isEmpty {
                        try await store.waitForPushWork(until: Timestamp.now() + 1)
                        continue
                    }
                    for delivery in deliveries {
                        let endpoint = PushTarget(url: delivery.url)?.endpointKey ?? delivery.url
                        if let slot = slots.take(for: endpoint) {
                            group.addTask {
                                await deliver(delivery, endpoint: endpoint)
                                slots.give(slot)
                            }
                        } else {
                            group.addTask {
                                if let slot = await slots.waitForSlot(for: endpoint, until: Timestamp.now() + Self.localWait) {
                                    await deliver(delivery, endpoint: endpoint)
                                    slots.give(slot)
                                } else {
                                    metrics.pushFailure("endpoint_busy")
                                    await deferDelivery(delivery.record, by: Self.busyDeferral * Double.random(in: 0.5...1.0))
                                }
                            }
                        }
                    }
                } catch {
                    logger.debug("push queue unavailable", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: storeBackoff.next())
                }
            }
        }
    }

    /// What one delivery came to, for the caller to record.
    enum Outcome {
        case answered(RPCAnswer?)
        /// Nothing reached the app (refused, unreachable, unresolvable): try again later.
        case notReached(String)
        /// The policy forbids the address the URL leads to.
        case denied(String)
    }

    func deliver(_ delivery: PushDelivery, endpoint: String) async {
        let record = delivery.record
        if SyftBoxEndpoint.isAppURL(delivery.url) {
            await deliverThroughSyftBox(record)
            return
        }
        // One deadline covers resolving, connecting, the head and the whole body: an app that
        // stalls anywhere gives its slot back by then. At the request's deadline the sweep fails
        // the request; at the lease's, it delivers it again.
        let deadline = min(record.deadline, Timestamp.now() + leaseSeconds)
        do {
            let outcome = try await Self.within(deadline: deadline) { try await post(delivery) }
            switch outcome {
            case .answered(let answer):
                endpointBackoff.reached(endpoint)
                metrics.delivered(count: 1, mode: "push")
                if case .error(let message)? = answer { health.failed(record, message) } else { health.succeeded(record) }
                guard let answer else { return }
                switch try await store.answer(id: record.id, with: answer, leaseToken: record.leaseToken) {
                case .accepted(let final): metrics.finished(final)
                case .leaseLost:
                    // This delivery outlived its lease and the request went out again; the
                    // delivery holding the lease now answers it.
                    logger.info("push answer came after the lease passed to another delivery; ignored", metadata: ["id": "\(record.id)"])
                case .alreadyFinal, .notFound: break
                }
            case .notReached(let why):
                PushResolver.forget(PushTarget(url: delivery.url)?.resolvableName ?? "")
                // Nothing reached the app, so trying again cannot run it twice; the request
                // waits in the store, not in this slot.
                metrics.pushFailure("connect")
                health.failed(record, "not reached: \(why)")
                let delay = endpointBackoff.refused(endpoint)
                logger.debug("push endpoint not reached; trying again later", metadata: ["id": "\(record.id)", "url": "\(delivery.url)", "error": "\(why)", "retry_in": "\(delay)"])
                await deferDelivery(record, by: delay)
            case .denied(let why):
                metrics.pushFailure("denied")
                health.failed(record, "denied by the outbound policy: \(why)")
                logger.warning("push delivery refused by the outbound policy", metadata: ["id": "\(record.id)", "url": "\(delivery.url)", "error": "\(why)"])
                if case .accepted(let final)? = try? await store.answer(id: record.id, with: .undeliverable(why), leaseToken: record.leaseToken) { metrics.finished(final) }
            }
        } catch where Task.isCancelled {
            // Shutting down mid-delivery: hand the request back now rather than leaving it
            // leased to a process that is going away until the lease runs out.
            if let token = record.leaseToken {
                let store = self.store
                _ = try? await uncancelled { try await store.releaseLease(id: record.id, token: token) }
            }
            logger.info("push delivery handed back on shutdown", metadata: ["id": "\(record.id)"])
        } catch is DeliveryDeadline {
            metrics.pushFailure("deadline")
            health.failed(record, "ran out of time connecting or answering")
            logger.info("push delivery ran out of time; the app took too long to connect or answer", metadata: ["id": "\(record.id)", "url": "\(delivery.url)"])
        } catch {
            // The request may have reached the app; the lease decides whether it is sent again.
            metrics.pushFailure("transport")
            health.failed(record, "transport error: \(error)")
            logger.info("push delivery failed; it is redelivered when its lease expires", metadata: ["id": "\(record.id)", "url": "\(delivery.url)", "error": "\(error)"])
        }
    }

    private func deferDelivery(_ record: RPCRecord, by seconds: Double) async {
        guard let token = record.leaseToken else { return }
        do {
            _ = try await store.deferDelivery(id: record.id, token: token, by: seconds)
        } catch {
            // The lease still stands; when it expires the sweep delivers the request again.
            logger.debug("could not defer a push delivery", metadata: ["id": "\(record.id)", "error": "\(error)"])
        }
    }

    /// Endpoints registered as `syft://…` go to the datasites folder. Every replica sharing a
    /// Redis must share the SyftBox settings; one without them fails the request, saying so,
    /// rather than holding it back from the replicas that could deliver it.
    private func deliverThroughSyftBox(_ record: RPCRecord) async {
        guard let syftBox else {
            logger.error("a SyftBox delivery reached a replica without PROXY_SYFTBOX_DATA_DIR", metadata: ["id": "\(record.id)"])
            let message = "the app is registered for SyftBox delivery, but the replica that took the request has no SyftBox folder configured; set PROXY_SYFTBOX_DATA_DIR and PROXY_SYFTBOX_EMAIL on every replica"
            if case .accepted(let final)? = try? await store.answer(id: record.id, with: .undeliverable(message), leaseToken: record.leaseToken) { metrics.finished(final) }
            return
        }
        await syftBox.deliver(record)
        metrics.delivered(count: 1, mode: "syftbox")
    }

    /// Resolves the URL's host, checks every address against the policy, then POSTs to a
    /// checked address.
    ///
    /// For http the request goes to the checked address itself, with the URL's name in the Host
    /// header: nothing resolves the name again, so DNS cannot swap the address between check
    /// and connect. For https the name has to go to the client, because TLS needs it for SNI and
    /// to verify the certificate, and the client resolves it again: an answer that changes
    /// between the two lookups (DNS rebinding) can still reach a denied address. The window is
    /// one lookup wide, and what lies behind it must complete a TLS handshake with a certificate
    /// valid for the attacker's name, which metadata services (plain http) cannot.
    private func post(_ delivery: PushDelivery) async throws -> Outcome {
        guard let target = PushTarget(url: delivery.url) else {
            return .denied("the push URL \(delivery.url) has no host and port a delivery can connect to; register the endpoint again with a URL such as http://127.0.0.1:9000/rpc")
        }
        let addresses: [IPAddress]
        if let literal = target.literalAddress {
            addresses = [literal]
        } else {
            do { addresses = try await PushResolver.addresses(of: target.resolvableName) } catch let error as PushResolver.Failure {
                return .notReached(error.description)
            }
        }
        for address in addresses {
            if let refusal = policy.refusal(of: address) {
                let via = target.literalAddress == nil ? "the push URL's host '\(target.resolvableName)' resolves to " : "the push URL points at "
                return .denied("\(via)\(refusal); the request was not sent to the app")
            }
        }
        if target.isTLS { return try await attempt(delivery, url: delivery.url, hostHeader: nil) }
        var lastRefusal = "no address to connect to"
        for address in addresses {
            let outcome = try await attempt(delivery, url: target.url(connectingTo: address), hostHeader: target.hostHeader)
            guard case .notReached(let why) = outcome else { return outcome }
            lastRefusal = why
        }
        return .notReached(lastRefusal)
    }

    /// One POST to one address. The app's answer becomes an RPCAnswer, nil when the app took
    /// the request for a later POST /rpc/reply (202 Accepted); a refused connection is
    /// `.notReached`, and any other failure is thrown (the request may have reached the app).
    private func attempt(_ delivery: PushDelivery, url: String, hostHeader: String?) async throws -> Outcome {
        let record = delivery.record
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        if let hostHeader { request.headers.add(name: "Host", value: hostHeader) }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Request-ID", value: record.id)
        request.headers.add(name: "traceparent", value: TraceParent.child(of: record.traceparent))
        request.body = .bytes(ByteBuffer(bytes: record.inboxJSON.compactBytes))
        let response: HTTPClientResponse
        do {
            // The deadline race in `deliver` bounds the whole exchange; this one only has to
            // outlast it.
            response = try await client.execute(request, deadline: .distantFuture)
        } catch let error where Self.isRefusedConnection(error) {
            return .notReached("\(error)")
        }
        let body = try await response.body.collect(upTo: maximumResponseBytes)
        let bytes = body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? []
        return .answered(Self.answer(status: response.status, bytes: bytes))
    }

    static func answer(status: HTTPResponseStatus, bytes: [UInt8]) -> RPCAnswer? {
        let parsed = try? JSONParser.parse(bytes)
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

    struct DeliveryDeadline: Error {}

    /// Runs `operation` until `deadline` (Unix seconds), cancelling it then.
    static func within<T: Sendable>(deadline: Double, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(max(0, deadline - Timestamp.now()) * 1000)))
                throw DeliveryDeadline()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw DeliveryDeadline() }
            return first
        }
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
