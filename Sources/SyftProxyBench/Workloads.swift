import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SyftProxyCore

/// HTTP calls the benchmark makes, on one client with a pool sized for the concurrency.
struct LoadClient: Sendable {
    let client: HTTPClient

    static func make(connections: Int) -> LoadClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        return LoadClient(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration))
    }

    @discardableResult
    func post(_ url: String, _ body: [UInt8]) async throws -> (Int, JSONValue?) {
        try await send(.POST, url, body)
    }

    func put(_ url: String, _ body: [UInt8]) async throws -> (Int, JSONValue?) {
        try await send(.PUT, url, body)
    }

    private func send(_ method: HTTPMethod, _ url: String, _ body: [UInt8]) async throws -> (Int, JSONValue?) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await run(request)
    }

    func get(_ url: String) async throws -> (Int, JSONValue?) {
        try await run(HTTPClientRequest(url: url))
    }

    private func run(_ request: HTTPClientRequest) async throws -> (Int, JSONValue?) {
        let response = try await client.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        let json = buffer.readableBytes > 0 ? try? JSONParser.parse(buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []) : nil
        return (Int(response.status.code), json)
    }

    func shutdown() async { try? await client.shutdown() }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// App B in pull mode: consumers long-poll the inbox in batches and answer each request
/// with its params, spread over the replicas like real apps would be.
func runPullResponders(_ load: LoadClient, urls: [String], app: String, destination: String, consumers: Int) -> Task<Void, Never> {
    Task {
        await withTaskGroup(of: Void.self) { group in
            for consumer in 0..<consumers {
                let base = urls[consumer % urls.count]
                group.addTask {
                    while !Task.isCancelled {
                        guard let (_, json) = try? await load.get("\(base)/rpc/inbox/\(app)?destination=\(destination)&max=64&wait=1") else { continue }
                        let items = json?["requests"]?.arrayValue ?? []
                        await withTaskGroup(of: Void.self) { replies in
                            for item in items {
                                guard let id = item["id"]?.stringValue else { continue }
                                let reply = JSONValue.object(["result": item["params"] ?? .null]).compactBytes
                                replies.addTask { _ = try? await load.post("\(base)/rpc/reply/\(id)", reply) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One blocking send to `app` for `destination`, through the replicas in turn, that must come
/// back completed: the round trip every delivery mode is measured by.
func blockingRoundTrip(_ load: LoadClient, urls: [String], app: String, destination: String) -> @Sendable (Int) async throws -> Void {
    { n in
        let (status, json) = try await load.post("\(urls[n % urls.count])/rpc/send", sendBody(app: app, destination: destination, blocking: true, n: n))
        guard status == 200, json?["status"] == "completed" else { throw BenchError("round trip answered \(status)") }
    }
}

func sendBody(app: String, destination: String, blocking: Bool, n: Int) -> [UInt8] {
    JSONValue.object([
        "app_name": .string(app), "func_name": "echo", "destination": .string(destination),
        "params": ["n": .int(n)], "blocking": .bool(blocking), "timeout": 30,
    ]).compactBytes
}
