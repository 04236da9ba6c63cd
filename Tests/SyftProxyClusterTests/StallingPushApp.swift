import Hummingbird
import NIOCore
import SyftProxyTestSupport

/// A push-mode app that sends its answer's head and the start of its body, then stops
/// writing for `stall` without closing the connection: the proxy's delivery waits on a body
/// that does not come.
struct StallingPushApp: Sendable {
    private let server: LoopbackServer

    init(stall: Duration = .seconds(60)) async throws {
        server = try await LoopbackServer.start { router in
            router.post("/rpc") { request, _ -> Response in
                _ = try await jsonBody(request)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: #"{"result": "#))
                    try await Task.sleep(for: stall)
                    try await writer.write(ByteBuffer(string: "1}"))
                    try await writer.finish(nil)
                })
            }
        }
    }

    var url: String { server.baseURL + "/rpc" }

    func stop() async { await server.stop() }
}

/// A push-mode app that answers at once.
struct HealthyPushApp: Sendable {
    private let server: LoopbackServer

    init(port: Int = 0) async throws {
        server = try await LoopbackServer.start(port: port) { router in
            router.post("/rpc") { request, _ -> Response in
                let body = try await jsonBody(request)
                return jsonResponse(["result": body["params"]?["n"] ?? "ok"])
            }
        }
    }

    var port: Int { server.port }
    var url: String { server.baseURL + "/rpc" }

    func stop() async { await server.stop() }
}
