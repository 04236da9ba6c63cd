import Hummingbird
import NIOCore
import SyftProxyCore

/// Server info, probes, metrics and the API description. None of these need an API key.
struct OperationsRoutes: Sendable {
    let environment: ProxyEnvironment

    func register(on router: Router<ProxyRequestContext>) {
        // Rendered once: the limits come from this replica's configuration, fixed at start.
        let openAPI: Result<ByteBuffer, OpenAPIDocument.RenderError>
        do throws(OpenAPIDocument.RenderError) {
            openAPI = .success(ByteBuffer(string: try OpenAPIDocument.json(for: environment.configuration)))
        } catch {
            openAPI = .failure(error)
        }
        router.get("/") { _, _ in
            JSONResponse.make([
                "name": "syft-proxy",
                "version": .string(environment.version),
                "replica_id": .string(environment.replicaID),
                "store": .string(environment.store.backendName),
                "store_topology": Self.topologyDocument(environment.store.topology),
                "uptime_seconds": .double((Timestamp.now() - environment.startedAt).rounded(.down)),
                "started_at": .string(Timestamp.iso8601(environment.startedAt)),
                "docs": "/openapi.json",
            ])
        }
        router.get("/health") { _, _ in
            JSONResponse.make(["status": "ok", "replica_id": .string(environment.replicaID)])
        }
        router.get("/ready") { _, _ in
            do {
                try await environment.store.ping()
                let topology = environment.store.topology
                // Still ready: every replica sees the same unreachable shard, so taking them all
                // out of the Service would stop the calls the other shards can serve.
                guard !topology.isDegraded else {
                    return JSONResponse.make([
                        "status": "degraded", "store": .string(environment.store.backendName),
                        "detail": .string("\(topology.nodes - topology.reachableNodes) of \(topology.nodes) Redis masters are unreachable; requests whose shard lives there fail with 503"),
                    ])
                }
                return JSONResponse.make(["status": "ready", "store": .string(environment.store.backendName)])
            } catch {
                return JSONResponse.make(
                    ["status": "unavailable", "store": .string(environment.store.backendName), "detail": .string("\(error)")],
                    status: .serviceUnavailable, headers: [.retryAfter: "1"])
            }
        }
        // Store-wide gauges come from the sweeper's last tick: a scrape (unauthenticated) never
        // touches the store.
        router.get("/metrics") { _, _ in
            if let syftBox = environment.syftBox { environment.metrics.syftBoxPending.set(Double(syftBox.pendingCount)) }
            var bytes: [UInt8] = []
            environment.metrics.registry.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/openapi.json") { _, _ in
            switch openAPI {
            case .success(let document):
                return Response(
                    status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: document))
            case .failure(let error):
                return JSONResponse.make(["detail": .string("this build's API description cannot be served: \(error)")], status: .internalServerError)
            }
        }
    }

    static func topologyDocument(_ topology: StoreTopology) -> JSONValue {
        ["mode": .string(topology.mode), "nodes": .int(topology.nodes), "reachable_nodes": .int(topology.reachableNodes)]
    }
}
