import Foundation
import HummingbirdTesting
import Testing
import SyftProxyCore
import SyftProxyServer

/// Registration and automatic routing of the SyftBox transport; delivery itself is covered by
/// the SyftProxySyftBox suites and, against real syft-event apps, by python-tests/test_syftbox.py.
@Suite struct SyftBoxRouteTests {
    static func makeDataDirectory(apps: [(destination: String, app: String)]) throws -> String {
        let directory = NSTemporaryDirectory() + "syftbox-routes-" + UUID().uuidString.lowercased()
        for (destination, app) in apps {
            try FileManager.default.createDirectory(atPath: "\(directory)/datasites/\(destination)/app_data/\(app)/rpc", withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(atPath: directory + "/datasites", withIntermediateDirectories: true)
        return directory
    }

    @Test func syftBoxRegistrationNeedsAConfiguredFolder() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let refused = try await client.put("/rpc/apps/pingpong/endpoint", ["destination": "bob@example.com", "transport": "syftbox"])
            #expect(refused.status == .unprocessableContent)
            #expect(refused.json?["detail"]?.arrayValue?.first?["loc"] == ["body", "transport"])
            let shown = try await client.get("/rpc/apps/pingpong/endpoint?destination=bob@example.com")
            #expect(shown.json?["transport"] == "pull" && shown.json?["url"] == .null)
        }
    }

    @Test func explicitRegistrationIsShownAndRemoved() async throws {
        let directory = try Self.makeDataDirectory(apps: [])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withProxy({ $0.syftBoxDataDirectory = directory; $0.syftBoxEmail = "proxy@example.com" }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let registered = try await client.put("/rpc/apps/pingpong/endpoint", ["destination": "bob@example.com", "transport": "syftbox"])
            #expect(registered.status == .ok)
            #expect(registered.json?["url"] == "syft://bob@example.com/app_data/pingpong/rpc")
            #expect(try await client.get("/rpc/apps/pingpong/endpoint?destination=bob@example.com").json?["transport"] == "syftbox")
            let badApp = try await client.put("/rpc/apps/a*b/endpoint", ["destination": "bob@example.com", "transport": "syftbox"])
            #expect(badApp.status == .unprocessableContent)
            #expect(badApp.json?["detail"]?.arrayValue?.first?["loc"] == ["path", "app_name"])
            // A '..' segment never reaches the route: it is refused before routing.
            let dotDot = try await client.put("/rpc/apps/%2E%2E/endpoint", ["destination": "bob@example.com", "transport": "syftbox"])
            #expect(dotDot.status == .badRequest)
            #expect(dotDot.json?["detail"]?.stringValue?.contains("'..' segment") == true)
            #expect(try await client.delete("/rpc/apps/pingpong/endpoint?destination=bob@example.com").json?["transport"] == "pull")
        }
    }

    @Test func sendRoutesAPairThroughSyftBoxWhenItsAppFolderExistsAndNoConsumerPolls() async throws {
        let directory = try Self.makeDataDirectory(apps: [("bob@example.com", "pingpong"), ("carol@example.com", "pingpong")])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withProxy({ $0.syftBoxDataDirectory = directory; $0.syftBoxEmail = "proxy@example.com" }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            // carol has a pull consumer; dave has no app folder; bob has only the folder.
            #expect(try await client.get("/rpc/inbox/pingpong?destination=carol@example.com").status == .ok)
            for destination in ["bob@example.com", "carol@example.com", "dave@example.com"] {
                #expect(try await client.post("/rpc/send", sendBody(app: "pingpong", destination: destination)).status == .ok)
            }
            func transport(_ destination: String) async throws -> JSONValue? {
                try await client.get("/rpc/apps/pingpong/endpoint?destination=\(destination)").json?["transport"]
            }
            #expect(try await transport("bob@example.com") == "syftbox")
            #expect(try await transport("carol@example.com") == "pull")
            #expect(try await transport("dave@example.com") == "pull")
            #expect(try await client.get("/rpc/inbox/pingpong?destination=carol@example.com").json?["requests"]?.arrayValue?.count == 1)
        }
    }

    @Test func syftBoxSettingsAreCheckedAtStart() throws {
        let directory = try Self.makeDataDirectory(apps: [])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: ConfigurationError.self) { try ProxyConfiguration(environment: ["PROXY_SYFTBOX_DATA_DIR": directory]) }
        #expect(throws: ConfigurationError.self) { try ProxyConfiguration(environment: ["PROXY_SYFTBOX_EMAIL": "proxy@example.com"]) }
        #expect(throws: ConfigurationError.self) {
            try ProxyConfiguration(environment: ["PROXY_SYFTBOX_DATA_DIR": directory, "PROXY_SYFTBOX_EMAIL": "proxy@localhost"])
        }
        #expect(throws: ConfigurationError.self) {
            try ProxyConfiguration(environment: ["PROXY_SYFTBOX_DATA_DIR": directory + "/missing", "PROXY_SYFTBOX_EMAIL": "proxy@example.com"])
        }
        let configuration = try ProxyConfiguration(environment: [
            "PROXY_SYFTBOX_DATA_DIR": directory, "PROXY_SYFTBOX_EMAIL": "proxy@example.com", "PROXY_SYFTBOX_POLL_INTERVAL": "0.2",
        ])
        #expect(configuration.syftBox?.datasites == directory + "/datasites")
        #expect(configuration.syftBox?.pollInterval == 0.2)
    }
}
