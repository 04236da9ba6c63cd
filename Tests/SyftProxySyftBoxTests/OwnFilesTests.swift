import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing
@testable import SyftProxySyftBox

/// The files the proxy does look after: those of requests the store marks as written through
/// SyftBox by this proxy (``RPCRecord/syftBoxSender``), in the request's own folder.
@Suite struct OwnFilesTests {
    typealias Fixture = TransportTests.Fixture
    static let sumAnswer = TransportTests.sumAnswer

    /// What an earlier delivery (a replica that died since) left in the store: the mark it set
    /// before writing the file. Returns the record as the next lease would hand it over.
    static func markedByAnEarlierDelivery(_ record: RPCRecord, in fixture: Fixture) async throws -> RPCRecord {
        #expect(try await fixture.store.markSyftBoxDelivery(id: record.id, sender: "proxy@example.com", leaseToken: record.leaseToken))
        return try #require(try await fixture.store.record(id: record.id))
    }

    static func writeRequestFile(_ record: RPCRecord, in folder: String) throws {
        let endpoint = try SyftBoxEndpoint(destination: record.destination, appName: record.appName, funcName: record.funcName)
        let bytes = try SyftBoxRequestFile.encode(record, endpoint: endpoint, sender: "proxy@example.com")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/\(record.id).request"))
    }

    @Test func deliveryMarksTheRecordBeforeWritingTheFile() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest()
        #expect(record.syftBoxSender == nil)
        await fixture.transport.deliver(record)
        #expect(fixture.exists(fixture.folder + "/\(record.id).request"))
        #expect(try await fixture.store.record(id: record.id)?.syftBoxSender == "proxy@example.com")
    }

    @Test func aDeliveryWhoseLeasePassedOnWritesNothing() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest()
        try await fixture.store.releaseLease(id: record.id, token: try #require(record.leaseToken))
        _ = try await fixture.store.leasePush(max: 1)
        await fixture.transport.deliver(record)
        #expect(!fixture.exists(fixture.folder + "/\(record.id).request"))
        #expect(fixture.transport.pendingCount == 0)
        #expect(try await fixture.store.record(id: record.id)?.state == .processing, "the current holder delivers it")
    }

    @Test func redeliveryAdoptsTheFileAnEarlierDeliveryWrote() async throws {
        let fixture = try Fixture()
        let record = try await Self.markedByAnEarlierDelivery(try await fixture.leasedRequest(), in: fixture)
        let marker = #"{"written":"by the replica that died"}"#
        try fixture.write(marker, to: fixture.folder + "/\(record.id).request")
        await fixture.transport.deliver(record)
        #expect(try String(contentsOfFile: fixture.folder + "/\(record.id).request", encoding: .utf8) == marker)
        try fixture.answerFile(record.id, Self.sumAnswer)
        #expect(try await fixture.finalRecord(record.id)?.state == .completed)
    }

    @Test func answerAlreadyThereIsTakenAtOnce() async throws {
        let fixture = try Fixture()
        let record = try await Self.markedByAnEarlierDelivery(try await fixture.leasedRequest(), in: fixture)
        try FileManager.default.createDirectory(atPath: fixture.folder, withIntermediateDirectories: true)
        try fixture.answerFile(record.id, Self.sumAnswer)
        await fixture.transport.deliver(record)
        #expect(try await fixture.store.record(id: record.id)?.state == .completed)
    }

    @Test func folderSweepCleansUpAfterAWriterThatIsGone() async throws {
        let fixture = try Fixture()
        // The proxy's own request, expired with nobody waiting for it any more.
        let expired = try await Self.markedByAnEarlierDelivery(try await fixture.leasedRequest(timeout: 60), in: fixture)
        try Self.writeRequestFile(expired, in: fixture.folder)
        // A live request whose writer died after the app answered it.
        let orphan = try await Self.markedByAnEarlierDelivery(try await fixture.leasedRequest(timeout: 300), in: fixture)
        try Self.writeRequestFile(orphan, in: fixture.folder)
        try fixture.answerFile(orphan.id, Self.sumAnswer)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: fixture.folder + "/\(orphan.id).response")
        // An answer that came after its request ended (and its request file went).
        let ended = try await Self.markedByAnEarlierDelivery(try await fixture.leasedRequest(timeout: 300), in: fixture)
        _ = try await fixture.store.answer(id: ended.id, with: .error("gave up"))
        try fixture.write(Self.sumAnswer, to: fixture.folder + "/\(ended.id).response", age: 60)

        // 61 s on, the first request's `expires` has passed.
        await fixture.transport.sweepFolders(now: Timestamp.now() + 61 + 1)
        #expect(try await fixture.store.record(id: orphan.id)?.result == .object(["sum": 3]))
        try await eventually("the folder is emptied") { fixture.listing(fixture.folder).isEmpty }
    }

    /// The proxy's own files found in another folder (another datasite, app or function) than
    /// the record's own are not its own.
    @Test func ownFilesCountOnlyInTheRecordsOwnFolder() async throws {
        let fixture = try Fixture()
        let record = try await Self.markedByAnEarlierDelivery(try await fixture.leasedRequest(), in: fixture)
        let elsewhere = fixture.datasites + "/bob@example.com/app_data/pingpong/rpc/sub/proxy@example.com"
        try Self.writeRequestFile(record, in: elsewhere)
        try fixture.write(#"{"status_code":200,"body":"eyJzdW0iOjk5fQ=="}"#, to: elsewhere + "/\(record.id).response", age: 60)
        await fixture.transport.sweepFolders(now: Timestamp.now())
        await fixture.transport.sweepFolders(now: Timestamp.now() + 3600)
        #expect(try await fixture.store.record(id: record.id)?.state == .processing)
        #expect(fixture.listing(elsewhere).count == 2)
    }

    /// A rejection marker of the proxy's own request whose writer is gone is recorded by the sweep.
    @Test func theSweepRecordsALeftBehindRejection() async throws {
        let fixture = try Fixture()
        let record = try await Self.markedByAnEarlierDelivery(try await fixture.leasedRequest(), in: fixture)
        try Self.writeRequestFile(record, in: fixture.folder)
        try FileManager.default.moveItem(atPath: fixture.folder + "/\(record.id).request", toPath: fixture.folder + "/\(record.id).syftrejected.request")
        await fixture.transport.sweepFolders(now: Timestamp.now())
        let final = try #require(try await fixture.store.record(id: record.id))
        #expect(final.state == .failed && final.error?.contains("SyftBox rejected") == true)
        try await eventually("the folder is emptied") { fixture.listing(fixture.folder).isEmpty }
    }

    /// The folder a request waits in stays the one opened without links when it was written:
    /// replacing it by a link afterwards redirects nothing.
    @Test func aLinkPlantedAfterDeliveryRedirectsNothing() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest()
        await fixture.transport.deliver(record)
        let function = fixture.datasites + "/bob@example.com/app_data/pingpong/rpc/add"
        let outside = fixture.dataDirectory + "/outside"
        try fixture.write(#"{"status_code":200,"body":"eyJzdW0iOjk5fQ=="}"#, to: outside + "/proxy@example.com/\(record.id).response")
        try FileManager.default.moveItem(atPath: function, toPath: function + ".moved")
        try FileManager.default.createSymbolicLink(atPath: function, withDestinationPath: outside)
        await fixture.transport.refreshFolders()
        await fixture.transport.pollOnce(now: Timestamp.now())
        #expect(try await fixture.store.record(id: record.id)?.state == .processing, "an answer behind the link is not read")
        try fixture.answerFile(record.id, Self.sumAnswer, in: function + ".moved/proxy@example.com")
        #expect(try await fixture.finalRecord(record.id)?.result == .object(["sum": 3]))
        #expect(fixture.exists(outside + "/proxy@example.com/\(record.id).response"), "nothing is removed behind the link")
    }
}
