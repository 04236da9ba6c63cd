import HTTPTypes
import HummingbirdWSClient
import Logging
import SyftProxyCore

/// App B in WebSocket mode: `consumers` sockets on GET /rpc/connect, spread over the
/// replicas, each holding up to the largest concurrency and answering every item with its
/// params. A socket that closes is opened again until the task is cancelled.
func runSocketResponders(urls: [String], app: String, destination: String, consumers: Int) -> Task<Void, Never> {
    Task {
        await withTaskGroup(of: Void.self) { group in
            for consumer in 0..<consumers {
                let base = urls[consumer % urls.count].replacingOccurrences(of: "http://", with: "ws://")
                let url = "\(base)/rpc/connect/\(app)?destination=\(destination)&concurrency=\(WebSocketLimits.maximumConcurrency)"
                group.addTask {
                    while !Task.isCancelled {
                        _ = try? await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 24), logger: Logger(label: "bench-socket")) { inbound, outbound, _ in
                            for try await message in inbound.messages(maxSize: 1 << 24) {
                                guard case .text(let text) = message, let item = try? JSONParser.parse(text), let id = item["id"] else { continue }
                                try await outbound.write(.text(JSONValue.object(["id": id, "result": item["params"] ?? .null]).compactString))
                            }
                        }
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
        }
    }
}
