import Foundation
import Logging
import SyftProxyCore
import SyftProxyMemoryStore
import SyftProxyTestSupport
import Testing
@testable import SyftProxySyftBox

/// The transport over a temporary datasites folder and the embedded store; the tests play
/// the syft-event app by writing answer files themselves.
@Suite struct TransportTests {
    final class Fixture: Sendable {
        let dataDirectory: String
        let store: MemoryStore
        let transport: SyftBoxTransport
        let background: Task<Void, Never>

        /// `prepare` runs on the data folder before the transport starts.
        init(grace: Double = 2, leaseSeconds: Double = 30, prepare: (String) throws -> Void = { _ in }) throws {
            dataDirectory = NSTemporaryDirectory() + "syftbox-tests-" + UUID().uuidString.lowercased()
            try FileManager.default.createDirectory(atPath: dataDirectory + "/datasites", withIntermediateDirectories: true)
            try prepare(dataDirectory)
            store = MemoryStore(settings: StoreSettings(leaseSeconds: leaseSeconds))
            transport = SyftBoxTransport(
                settings: SyftBoxSettings(dataDirectory: dataDirectory, email: "proxy@example.com", pollInterval: 0.1, unreadableGrace: grace),
                store: store, leaseSeconds: leaseSeconds, logger: Logger(label: "syftbox-tests"))
            background = Task { [transport] in await transport.run() }
        }

        deinit {
            background.cancel()
            try? FileManager.default.removeItem(atPath: dataDirectory)
        }

        var folder: String { dataDirectory + "/datasites/bob@example.com/app_data/pingpong/rpc/add/proxy@example.com" }

        var datasites: String { dataDirectory + "/datasites" }

        /// A request routed to SyftBox and leased, as the forwarder hands it over.
        func leasedRequest(destination: String = "bob@example.com", funcName: String = "add", timeout: Double = 30,
                           headers: [String: String] = [:]) async throws -> RPCRecord {
            try await store.registerPushEndpoint(appName: "pingpong", destination: destination, url: "syft://\(destination)/app_data/pingpong/rpc")
            let request = NewRequest(id: UUID().uuidString.lowercased(), appName: "pingpong", funcName: funcName, destination: destination,
                                     sender: "alice@example.com", params: ["a": 1, "b": 2], headers: headers, timeout: timeout)
            _ = try await store.create([request], idempotencyKey: nil)
            let leased = try await store.leasePush(max: 1)
            return try #require(leased.first?.record)
        }

        /// Written aside and renamed into place, as a careful responder does.
        func answerFile(_ id: String, _ text: String, in directory: String? = nil) throws {
            let directory = directory ?? folder
            let temporary = directory + "/.\(id).tmp"
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            try FileManager.default.moveItem(atPath: temporary, toPath: directory + "/\(id).response")
        }

        func finalRecord(_ id: String, within seconds: Double = 5) async throws -> RPCRecord? {
            let deadline = Timestamp.now() + seconds
            while Timestamp.now() < deadline {
                if let record = try await store.record(id: id), record.state.isFinal { return record }
                try await Task.sleep(for: .milliseconds(20))
            }
            return nil
        }

        func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

        /// The names in a folder, sorted; empty when it does not exist.
        func listing(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

        /// A file with its modification time `age` seconds ago.
        func write(_ text: String, to path: String, age: Double = 0) throws {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            if age > 0 { try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -age)], ofItemAtPath: path) }
        }
    }

    static let sumAnswer = #"{"status_code":200,"body":"eyJzdW0iOjN9"}"#

    @Test func requestFileIsWrittenAndTheAnswerCompletesTheRequest() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest()
        await fixture.transport.deliver(record)
        let requestPath = fixture.folder + "/\(record.id).request"
        #expect(fixture.exists(requestPath))
        #expect(fixture.listing(fixture.folder) == ["\(record.id).request"], "no temporary file is left behind")
        try fixture.answerFile(record.id, Self.sumAnswer)
        let final = try #require(try await fixture.finalRecord(record.id))
        #expect(final.state == .completed && final.result == .object(["sum": 3]))
        try await eventually("the folder is emptied") { fixture.listing(fixture.folder).isEmpty }
        #expect(fixture.transport.pendingCount == 0)
    }

    @Test func destinationSyftBoxCannotAddressFailsAtOnce() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest(destination: "bob@localhost")
        await fixture.transport.deliver(record)
        let final = try #require(try await fixture.store.record(id: record.id))
        #expect(final.state == .failed)
        #expect(final.error?.contains("not a SyftBox identity") == true)
    }

    @Test func garbageAnswerFailsAfterTheGracePeriod() async throws {
        let fixture = try Fixture(grace: 0.3)
        let record = try await fixture.leasedRequest()
        await fixture.transport.deliver(record)
        try fixture.answerFile(record.id, "this is not json")
        let final = try #require(try await fixture.finalRecord(record.id))
        #expect(final.state == .failed)
        #expect(final.error?.contains("not a valid syft-rpc response") == true)
        try await eventually("the folder is emptied") { fixture.listing(fixture.folder).isEmpty }
    }

    @Test func halfWrittenAnswerIsReadAgainOnceComplete() async throws {
        let fixture = try Fixture(grace: 5)
        let record = try await fixture.leasedRequest()
        await fixture.transport.deliver(record)
        let path = fixture.folder + "/\(record.id).response"
        try String(Self.sumAnswer.prefix(10)).write(toFile: path, atomically: false, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await fixture.store.record(id: record.id)?.state == .processing)
        try Self.sumAnswer.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try await fixture.finalRecord(record.id)?.result == .object(["sum": 3]))
    }

    @Test func unansweredRequestTimesOutAndItsFileIsRemoved() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest(timeout: 1)
        await fixture.transport.deliver(record)
        #expect(fixture.exists(fixture.folder + "/\(record.id).request"))
        let final = try #require(try await fixture.finalRecord(record.id))
        #expect(final.state == .failed && final.timedOut)
        try await eventually("the request file is removed") { !fixture.exists(fixture.folder + "/\(record.id).request") }
    }

    /// Anyone who can write into some datasite folder could plant `<id>.request` and an answer
    /// for a request addressed elsewhere; only the record's own folder may answer it.
    @Test func folderSweepIgnoresAnAnswerPlantedInAnotherFolder() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest()
        let elsewhere = [
            fixture.dataDirectory + "/datasites/eve@example.com/app_data/pingpong/rpc/add/proxy@example.com",
            fixture.dataDirectory + "/datasites/bob@example.com/app_data/other/rpc/add/proxy@example.com",
            fixture.dataDirectory + "/datasites/bob@example.com/app_data/pingpong/rpc/sub/proxy@example.com",
        ]
        let endpoint = try SyftBoxEndpoint(destination: "bob@example.com", appName: "pingpong", funcName: "add")
        let bytes = try SyftBoxRequestFile.encode(record, endpoint: endpoint, sender: "proxy@example.com")
        let old = Date(timeIntervalSinceNow: -60)
        for folder in elsewhere {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/\(record.id).request"))
            try #"{"status_code":200,"body":"eyJzdW0iOjk5fQ=="}"#.write(toFile: folder + "/\(record.id).response", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: folder + "/\(record.id).response")
        }

        await fixture.transport.sweepFolders(now: Timestamp.now())
        await fixture.transport.pollOnce(now: Timestamp.now())
        #expect(try await fixture.store.record(id: record.id)?.state == .processing, "a planted answer must not complete the request")
        #expect(fixture.transport.pendingCount == 0)
        for folder in elsewhere {
            #expect(fixture.exists(folder + "/\(record.id).request") && fixture.exists(folder + "/\(record.id).response"), "files that are not ours stay")
        }
    }

    @Test func schemaFileBecomesAnAppSchema() async throws {
        let fixture = try Fixture()
        let rpc = fixture.dataDirectory + "/datasites/bob@example.com/app_data/pingpong/rpc"
        try FileManager.default.createDirectory(atPath: rpc, withIntermediateDirectories: true)
        try #"{"/add":{"description":"Adds","args":{"body":{"type":"dict","required":true}},"returns":"dict"}}"#
            .write(toFile: rpc + "/rpc.schema.json", atomically: true, encoding: .utf8)
        #expect(await fixture.transport.hasAppFolder(destination: "bob@example.com", appName: "pingpong"))
        #expect(await !fixture.transport.hasAppFolder(destination: "carol@example.com", appName: "pingpong"))
        let schema = try #require(await fixture.transport.schema(appName: "pingpong", destination: nil))
        #expect(schema["app_name"] == "pingpong" && schema["datasite"] == "bob@example.com")
        #expect(schema["functions"]?["add"]?["params"] == .object(["body": "dict"]))
        #expect(schema["functions"]?["add"]?["description"] == "Adds")
        #expect(await fixture.transport.schema(appName: "pingpong", destination: "carol@example.com") == nil)
        #expect(await fixture.transport.schema(appName: "..", destination: nil) == nil)
    }
}

