import Foundation
import Synchronization
import SyftProxyCore
import SyftProxyTestSupport
import Testing
@testable import SyftProxySyftBox

/// What the transport must never do to files in a datasites folder it shares with others: adopt,
/// answer from or delete files it did not write, follow links planted there, hang on a FIFO;
/// and what it owes syft-rpc: rejection markers, reserved headers, modes, no leftovers.
@Suite struct HardeningTests {
    typealias Fixture = TransportTests.Fixture
    static let sumAnswer = TransportTests.sumAnswer

    // MARK: Files the proxy did not write

    /// The same user's notebook runs a syft-rpc client as the proxy's identity: its files lie in
    /// the very folders the proxy writes to, under ids the store has never seen.
    @Test func aSyftRPCClientOnTheProxysIdentityKeepsItsFilesThroughManySweeps() async throws {
        let fixture = try Fixture()
        let expired = UUID().uuidString.lowercased()
        let live = UUID().uuidString.lowercased()
        let answerOnly = UUID().uuidString.lowercased()
        let request = { (id: String, expires: String) in
            #"{"id":"\#(id)","sender":"proxy@example.com","url":"syft://bob@example.com/app_data/pingpong/rpc/add","body":null,"headers":{},"created":"2020-01-01T00:00:00Z","expires":"\#(expires)","method":"POST"}"#
        }
        try fixture.write(request(expired, "2020-01-01T00:00:30Z"), to: fixture.folder + "/\(expired).request", age: 60)
        try fixture.write(Self.sumAnswer, to: fixture.folder + "/\(expired).response", age: 60)
        try fixture.write(request(live, "2099-01-01T00:00:00Z"), to: fixture.folder + "/\(live).request", age: 60)
        try fixture.write(Self.sumAnswer, to: fixture.folder + "/\(live).response", age: 60)
        try fixture.write(Self.sumAnswer, to: fixture.folder + "/\(answerOnly).response", age: 60)
        let before = fixture.listing(fixture.folder)

        for _ in 0..<3 {
            await fixture.transport.sweepFolders(now: Timestamp.now())
            await fixture.transport.pollOnce(now: Timestamp.now())
        }
        #expect(fixture.listing(fixture.folder) == before, "the client's files, expired or not, are not the proxy's to remove")
        #expect(try String(contentsOfFile: fixture.folder + "/\(live).response", encoding: .utf8) == Self.sumAnswer)
        #expect(fixture.transport.pendingCount == 0)
    }

    /// A request the store knows, but that the proxy never delivered through SyftBox: files
    /// planted for its id in its own folder (by someone who knows the id) answer nothing.
    @Test func filesForARequestTheProxyNeverWroteAreNotAdopted() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest()
        let endpoint = try SyftBoxEndpoint(destination: "bob@example.com", appName: "pingpong", funcName: "add")
        let bytes = try SyftBoxRequestFile.encode(record, endpoint: endpoint, sender: "proxy@example.com")
        try fixture.write(String(decoding: bytes, as: UTF8.self), to: fixture.folder + "/\(record.id).request", age: 60)
        try fixture.write(#"{"status_code":200,"body":"eyJzdW0iOjk5fQ=="}"#, to: fixture.folder + "/\(record.id).response", age: 60)

        await fixture.transport.sweepFolders(now: Timestamp.now())
        await fixture.transport.sweepFolders(now: Timestamp.now() + 3600)
        await fixture.transport.pollOnce(now: Timestamp.now())
        #expect(try await fixture.store.record(id: record.id)?.state == .processing, "a planted answer must not complete the request")
        #expect(fixture.exists(fixture.folder + "/\(record.id).request") && fixture.exists(fixture.folder + "/\(record.id).response"))
    }

    /// First delivery, and files of that id are already there: they are someone else's. The
    /// proxy neither reads them as the answer nor writes over them.
    @Test func deliveryRefusesFilesAlreadyThereThatTheProxyDidNotWrite() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest()
        let planted = #"{"status_code":200,"body":"eyJzdW0iOjk5fQ=="}"#
        try fixture.write(planted, to: fixture.folder + "/\(record.id).response")
        await fixture.transport.deliver(record)
        let final = try #require(try await fixture.store.record(id: record.id))
        #expect(final.state == .failed)
        #expect(final.error?.contains("did not write") == true, "\(final.error ?? "")")
        #expect(fixture.listing(fixture.folder) == ["\(record.id).response"])
        #expect(try String(contentsOfFile: fixture.folder + "/\(record.id).response", encoding: .utf8) == planted)
    }

    // MARK: Links

    /// A datasite owner (or anyone syncing into it) plants `rpc/<func>` as a link elsewhere: the
    /// caller's params must not be written through it.
    @Test(arguments: ["rpc/add", "rpc/add/proxy@example.com", "app_data/pingpong"])
    func aPlantedLinkIsNeverWrittenThrough(link: String) async throws {
        let fixture = try Fixture()
        let outside = fixture.dataDirectory + "/outside"
        try FileManager.default.createDirectory(atPath: outside + "/rpc", withIntermediateDirectories: true)
        let site = fixture.datasites + "/bob@example.com"
        let linkPath = site + "/" + (link == "app_data/pingpong" ? "app_data/pingpong" : "app_data/pingpong/" + link)
        try FileManager.default.createDirectory(atPath: (linkPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: linkPath, withDestinationPath: outside)

        let record = try await fixture.leasedRequest()
        await fixture.transport.deliver(record)
        let final = try #require(try await fixture.store.record(id: record.id))
        #expect(final.state == .failed)
        #expect(final.error?.contains("symbolic link") == true, "\(final.error ?? "")")
        let written = FileManager.default.enumerator(atPath: outside)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".request") } ?? []
        #expect(written.isEmpty, "nothing is written outside the destination's folder: \(written)")
        #expect(fixture.transport.pendingCount == 0)
    }

    @Test func aLinkedAppFolderIsNotAnAppFolder() async throws {
        let fixture = try Fixture()
        let outside = fixture.dataDirectory + "/outside"
        try FileManager.default.createDirectory(atPath: outside + "/rpc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: fixture.datasites + "/bob@example.com/app_data", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: fixture.datasites + "/bob@example.com/app_data/pingpong", withDestinationPath: outside)
        try #"{"/add":{"description":"planted","args":{},"returns":"dict"}}"#.write(toFile: outside + "/rpc/rpc.schema.json", atomically: true, encoding: .utf8)
        #expect(await !fixture.transport.hasAppFolder(destination: "bob@example.com", appName: "pingpong"))
        #expect(await fixture.transport.schema(appName: "pingpong", destination: "bob@example.com") == nil)
    }

    /// The sweep walks the datasites folder without following links: files reached through a
    /// planted link are neither answered from nor removed, even at the record's own path.
    @Test func theSweepDoesNotFollowALinkIntoAnotherFolder() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest()
        let outside = fixture.dataDirectory + "/outside"
        let endpoint = try SyftBoxEndpoint(destination: "bob@example.com", appName: "pingpong", funcName: "add")
        let bytes = try SyftBoxRequestFile.encode(record, endpoint: endpoint, sender: "proxy@example.com")
        try fixture.write(String(decoding: bytes, as: UTF8.self), to: outside + "/proxy@example.com/\(record.id).request", age: 60)
        try fixture.write(#"{"status_code":200,"body":"eyJzdW0iOjk5fQ=="}"#, to: outside + "/proxy@example.com/\(record.id).response", age: 60)
        try FileManager.default.createDirectory(atPath: fixture.datasites + "/bob@example.com/app_data/pingpong/rpc", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: fixture.datasites + "/bob@example.com/app_data/pingpong/rpc/add", withDestinationPath: outside)

        await fixture.transport.sweepFolders(now: Timestamp.now())
        await fixture.transport.sweepFolders(now: Timestamp.now() + 3600)
        #expect(try await fixture.store.record(id: record.id)?.state == .processing)
        #expect(fixture.listing(outside + "/proxy@example.com") == ["\(record.id).request", "\(record.id).response"])
    }

    // MARK: FIFOs

    /// A FIFO opened for reading waits for a writer forever, and a blocking read for data. Code
    /// stuck that way holds a thread of the concurrency pool (two on a 2-core machine: the whole
    /// process stalls). From `after` seconds on, this opens each FIFO for writing every 0.2 s,
    /// from a Dispatch thread, which frees such a reader: a test of code that would hang then
    /// fails on its time bound instead of hanging.
    final class FIFOUnblocker: Sendable {
        private let stopped = Atomic<Bool>(false)

        init(_ paths: [String], after seconds: Double = 3) {
            // A thread of its own: the concurrency pool may be the thing that is stuck.
            let thread = Thread { [self] in
                let start = Date()
                while !stopped.load(ordering: .relaxed) {
                    if Date().timeIntervalSince(start) >= seconds {
                        for path in paths {
                            let descriptor = open(path, O_WRONLY | O_NONBLOCK)
                            if descriptor >= 0 { close(descriptor) }
                        }
                    }
                    usleep(200_000)
                }
            }
            thread.start()
        }

        func stop() { stopped.store(true, ordering: .relaxed) }
    }

    @Test func aFIFONamedLikeARequestOrAnAnswerDoesNotStallTheSweep() async throws {
        let fixture = try Fixture()
        try FileManager.default.createDirectory(atPath: fixture.folder, withIntermediateDirectories: true)
        let request = fixture.folder + "/\(UUID().uuidString.lowercased()).request"
        let answer = fixture.folder + "/\(UUID().uuidString.lowercased()).response"
        #expect(mkfifo(request, 0o644) == 0 && mkfifo(answer, 0o644) == 0)
        let unblocker = FIFOUnblocker([request, answer])
        defer { unblocker.stop() }
        let started = Timestamp.now()
        await fixture.transport.sweepFolders(now: Timestamp.now())
        await fixture.transport.sweepFolders(now: Timestamp.now() + 3600)
        #expect(Timestamp.now() - started < 2, "the sweep must not wait on a FIFO")
        #expect(fixture.exists(request) && fixture.exists(answer), "a FIFO is nothing the proxy removes")
    }

    @Test func aFIFONamedLikeTheAnswerFailsTheRequestWithoutStallingThePoll() async throws {
        let fixture = try Fixture(grace: 0.3)
        let record = try await fixture.leasedRequest()
        await fixture.transport.deliver(record)
        let answer = fixture.folder + "/\(record.id).response"
        #expect(mkfifo(answer, 0o644) == 0)
        let unblocker = FIFOUnblocker([answer])
        defer { unblocker.stop() }
        let started = Timestamp.now()
        await fixture.transport.pollOnce(now: Timestamp.now())
        #expect(Timestamp.now() - started < 2, "the poll must not wait on a FIFO")
        let final = try #require(try await fixture.finalRecord(record.id, within: 5))
        #expect(final.state == .failed)
        #expect(final.error?.contains("FIFO") == true, "\(final.error ?? "")")
        #expect(Timestamp.now() - started < 2.5, "failed after the grace period, not after the FIFO let go")
    }

    // MARK: Rejection

    /// The SyftBox client renames a request file the server refused to
    /// `<id>.syftrejected.request`; syft-rpc reports it as 403 at once.
    @Test func aRejectedRequestFailsAtOnceAndIsCleanedUp() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest(timeout: 60)
        await fixture.transport.deliver(record)
        let started = Timestamp.now()
        try FileManager.default.moveItem(atPath: fixture.folder + "/\(record.id).request", toPath: fixture.folder + "/\(record.id).syftrejected.request")
        let final = try #require(try await fixture.finalRecord(record.id, within: 5))
        #expect(Timestamp.now() - started < 5, "not left to wait out its 60 s timeout")
        #expect(final.state == .failed)
        #expect(final.error?.contains("SyftBox rejected the request") == true, "\(final.error ?? "")")
        try await eventually("the marker is removed") { fixture.listing(fixture.folder).isEmpty }
        #expect(fixture.transport.pendingCount == 0)
    }

    @Test func aRejectionsReasonIsPassedOn() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest(timeout: 60)
        await fixture.transport.deliver(record)
        try FileManager.default.removeItem(atPath: fixture.folder + "/\(record.id).request")
        let temporary = fixture.dataDirectory + "/marker"
        try #"{"reason":"proxy@example.com may not write to bob@example.com's datasite"}"#.write(toFile: temporary, atomically: false, encoding: .utf8)
        try FileManager.default.moveItem(atPath: temporary, toPath: fixture.folder + "/\(record.id).syftrejected.request")
        let final = try #require(try await fixture.finalRecord(record.id, within: 5))
        #expect(final.error?.contains("SyftBox rejected the request") == true)
        #expect(final.error?.contains("may not write to bob@example.com's datasite") == true, "\(final.error ?? "")")
    }

    // MARK: Headers, modes, leftovers, watches

    @Test func reservedHeadersAreReplacedWhateverTheirLetterCase() throws {
        let endpoint = try SyftBoxEndpoint(destination: "bob@example.com", appName: "pingpong", funcName: "add")
        let trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let headers = ["X-SYFT-PROXY-SENDER": "mallory@example.com", "X-Syft-Proxy-Sender ": "mallory@example.com",
                       "TraceParent": "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01", "x-other": "kept"]
        func written(sender: String?, traceparent: String?) throws -> JSONValue? {
            let record = RPCRecord(id: UUID().uuidString.lowercased(), appName: "pingpong", funcName: "add", destination: "bob@example.com",
                                   sender: sender, params: [:], headers: headers, createdAt: 0, deadline: 30, traceparent: traceparent)
            return try JSONParser.parse(try SyftBoxRequestFile.encode(record, endpoint: endpoint, sender: "proxy@example.com"))["headers"]
        }
        let withCaller = try #require(try written(sender: "alice@example.com", traceparent: trace)?.objectValue)
        #expect(withCaller.members.map(\.key) == ["traceparent", "x-other", "x-syft-proxy-sender"])
        #expect(withCaller["x-syft-proxy-sender"] == "alice@example.com")
        #expect(withCaller["traceparent"]?.stringValue?.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-") == true)
        // An anonymous caller: the caller's spelling never stands in for the proxy's.
        let anonymous = try #require(try written(sender: nil, traceparent: nil)?.objectValue)
        #expect(anonymous.members.map(\.key) == ["x-other"])
    }

    static func umask() -> mode_t {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Umask:") }
        return line.flatMap { mode_t($0.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8) } ?? 0o022
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test func requestFilesHaveSyftRPCsModeAndStagingIsPrivateAndEmpty() async throws {
        let fixture = try Fixture()
        let record = try await fixture.leasedRequest()
        await fixture.transport.deliver(record)
        let umask = Self.umask()
        #expect(Self.mode(fixture.folder + "/\(record.id).request") == 0o644 & ~umask)
        #expect(Self.mode(fixture.folder) == 0o755 & ~umask)
        let staging = fixture.dataDirectory + "/.syft-proxy-staging"
        #expect(Self.mode(staging) == 0o700 & ~umask, "staging holds callers' params before the rename: the proxy's alone")
        #expect(fixture.listing(staging).isEmpty)
    }

    @Test func stagingLeftoversOlderThanAMinuteAreRemoved() async throws {
        let fixture = try Fixture { dataDirectory in
            let staging = dataDirectory + "/.syft-proxy-staging"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            for (name, age) in [("old.request.1.2.tmp", 120.0), ("fresh.request.1.3.tmp", 0)] {
                try "{}".write(toFile: staging + "/" + name, atomically: false, encoding: .utf8)
                if age > 0 { try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -age)], ofItemAtPath: staging + "/" + name) }
            }
        }
        let staging = fixture.dataDirectory + "/.syft-proxy-staging"
        try await eventually("removed at start: \(fixture.listing(staging))", within: 3) { fixture.listing(staging) == ["fresh.request.1.3.tmp"] }

        // Staged next to the destination (staging on another file system) and left by a crash.
        let id = UUID().uuidString.lowercased()
        try fixture.write("{}", to: fixture.folder + "/.\(id).request.1.2.syft-proxy.tmp", age: 120)
        try fixture.write("{}", to: fixture.folder + "/.\(id).request.1.3.syft-proxy.tmp")
        try fixture.write("{}", to: fixture.folder + "/.notebook.tmp", age: 120)
        await fixture.transport.sweepFolders(now: Timestamp.now())
        #expect(fixture.listing(fixture.folder) == [".\(id).request.1.3.syft-proxy.tmp", ".notebook.tmp"])
    }

    /// inotify watches of `folder` held by this process (the kernel lists them per inotify
    /// descriptor in /proc/self/fdinfo, by inode).
    static func watchCount(of folder: String) -> Int {
        var info = stat()
        guard stat(folder, &info) == 0 else { return 0 }
        let inode = String(UInt64(info.st_ino), radix: 16)
        var count = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name)) == "anon_inode:inotify",
                let details = try? String(contentsOfFile: "/proc/self/fdinfo/" + name, encoding: .utf8)
            else { continue }
            count += details.split(separator: "\n").filter { $0.hasPrefix("inotify ") && $0.contains(" ino:\(inode) ") }.count
        }
        return count
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fdinfo")))
    func aFolderNobodyWaitsInIsWatchedNoMore() async throws {
        let fixture = try Fixture()
        guard fixture.transport.watchesFiles else { return }
        let record = try await fixture.leasedRequest()
        await fixture.transport.deliver(record)
        #expect(Self.watchCount(of: fixture.folder) == 1)
        try fixture.answerFile(record.id, Self.sumAnswer)
        #expect(try await fixture.finalRecord(record.id)?.state == .completed)
        try await eventually("the folder's watch is removed", within: 3) { Self.watchCount(of: fixture.folder) == 0 }
    }
}
