import ArgumentParser
import Foundation
import Hummingbird
import NIOCore

/// The baseline: the same server stack (Hummingbird on SwiftNIO) answering a POST with its
/// body, nothing else. Run as its own process, like a replica.
struct EchoServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "echo-server", abstract: "Bare HTTP echo on the proxy's server stack (benchmark baseline).")

    @Option var port = 0

    func run() async throws {
        let router = Router()
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in
                                  FileHandle.standardOutput.write(Data("syft-proxy listening on http://127.0.0.1:\(channel.localAddress?.port ?? 0) echo\n".utf8))
                              })
        try await app.runService()
    }
}
