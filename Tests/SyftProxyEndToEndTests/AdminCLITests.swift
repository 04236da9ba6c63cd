import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// `syft-proxy admin ...` against a real replica: tables for people, --json for scripts, and
/// the API's refusals as exit status 1.
@Suite struct AdminCLITests {
    static let key = "cli-admin-key-012345"

    @Test func theCommandsPrintTablesAndJSONAndActOnRequests() async throws {
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_ADMIN_KEYS": "\(Self.key)=ops@example.com"])
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let common = ["--url", proxy.baseURL, "--admin-key", Self.key]
        func cli(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await HealthLivenessTests.cli(["admin"] + arguments + common)
        }
        let queued = try #require(try await send(http, app: "calculator").json?["id"]?.stringValue)
        let failed = try #require(try await send(http, app: "weather", destination: "carol@example.com").json?["id"]?.stringValue)
        #expect(try await http.post("/rpc/reply/\(failed)", ["error": "upstream down"]).status == 200)

        let table = try await cli(["requests"])
        #expect(table.status == 0, "\(table.output)")
        let lines = table.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ID ") == true && lines.first?.contains("STATUS") == true, "\(table.output)")
        // Newest first, columns aligned: every row's status starts under the header's.
        #expect(lines.count == 3 && lines[1].hasPrefix(failed) && lines[2].hasPrefix(queued), "\(table.output)")
        let column = try #require(lines[0].range(of: "STATUS")).lowerBound.utf16Offset(in: lines[0])
        #expect(lines[1].dropFirst(column).hasPrefix("failed") && lines[2].dropFirst(column).hasPrefix("pending"), "\(table.output)")

        let json = try await cli(["failed", "--json"])
        let document = try JSONParser.parse(json.output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(document["failed"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [failed])
        #expect(document["failed"]?.arrayValue?.first?["failure_class"] == "app_error")

        let detail = try await cli(["request", failed])
        #expect(detail.output.contains("upstream down") && detail.output.contains("created") && detail.output.contains("app_error"), "\(detail.output)")

        let retried = try await cli(["retry", failed])
        #expect(retried.status == 0 && retried.output.contains("retried"), "\(retried.output)")
        #expect(try await http.get("/rpc/status/\(failed)").json?["status"] == "pending")

        let queues = try await cli(["queues"])
        #expect(queues.output.contains("calculator") && queues.output.contains("weather") && queues.output.contains("DEPTH"), "\(queues.output)")

        let cancelled = try await cli(["cancel", queued])
        #expect(cancelled.status == 0 && cancelled.output.contains("cancelled by an operator"), "\(cancelled.output)")
        let purged = try await cli(["purge", "--app-name", "weather", "--destination", "carol@example.com", "--json"])
        #expect(try JSONParser.parse(purged.output.trimmingCharacters(in: .whitespacesAndNewlines)) == ["purged": 1, "remaining": 0])

        try await eventually("the replica's heartbeat is listed", within: 10) {
            (try? await cli(["replicas"]))?.output.contains("127.0.0.1:\(proxy.port)") == true
        }

        let again = try await cli(["cancel", queued])
        #expect(again.status == 1 && again.output.contains("409"), "\(again.output)")
        let refused = try await HealthLivenessTests.cli(["admin", "queues", "--url", proxy.baseURL, "--admin-key", "wrong-key-0000"])
        #expect(refused.status == 1 && refused.output.contains("401"), "\(refused.output)")
        let keyless = try await HealthLivenessTests.cli(["admin", "queues", "--url", proxy.baseURL])
        #expect(keyless.status != 0 && keyless.output.contains("PROXY_ADMIN_KEY"), "\(keyless.output)")
    }
}
