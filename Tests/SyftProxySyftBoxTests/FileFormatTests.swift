import Foundation
import SyftProxyCore
import Testing
@testable import SyftProxySyftBox

@Suite struct FileFormatTests {
    @Test func identitiesFollowSyftBoxRule() {
        for valid in ["bob@example.com", "a.b+c_d-e@x-y.co.uk", "x@y.z"] { #expect(SyftBoxIdentity.isValid(valid), "\(valid)") }
        for invalid in ["bob@localhost", "@example.com", "bob@", "a@b@c.com", "bob@.com", "bob@example.", "bo b@example.com", "bob@exa/mple.com"] {
            #expect(!SyftBoxIdentity.isValid(invalid), "\(invalid)")
        }
    }

    @Test func endpointPartsMustBePlainFolderNames() throws {
        let nested = try SyftBoxEndpoint(destination: "bob@example.com", appName: "jobs", funcName: "user_code/create")
        #expect(nested.url == "syft://bob@example.com/app_data/jobs/rpc/user_code/create")
        #expect(nested.senderDirectory(datasites: "/d", sender: "proxy@example.com")
            == "/d/bob@example.com/app_data/jobs/rpc/user_code/create/proxy@example.com")
        for function in ["..", "a/../b", "a//b", "*", "a?", "", "/abs"] {
            #expect(throws: SyftBoxError.self, "\(function)") {
                try SyftBoxEndpoint(destination: "bob@example.com", appName: "jobs", funcName: function)
            }
        }
        #expect(throws: SyftBoxError.self) { try SyftBoxEndpoint(destination: "bob@example.com", appName: "..", funcName: "f") }
        #expect(throws: SyftBoxError.self) { try SyftBoxEndpoint(destination: "bob@localhost", appName: "jobs", funcName: "f") }
    }

    @Test func base64IsWrittenURLSafeAndReadInEitherAlphabet() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0x00, 0x41]
        #expect(Base64.encodeURLSafe(bytes) == "-_-_AEE=")
        #expect(Base64.encodeStandard(bytes) == "+/+/AEE=")
        for text in ["-_-_AEE=", "+/+/AEE=", "-_-_AEE"] { #expect(Base64.decode(text) == bytes, "\(text)") }
        #expect(Base64.decode("") == [])
        #expect(Base64.decode("abc!") == nil)
        #expect(Base64.decode("abcde") == nil)
        #expect(Base64.decode("ab=c") == nil)
        for length in 0..<20 {
            let random = (0..<length).map { _ in UInt8.random(in: 0...255) }
            #expect(Base64.decode(Base64.encodeURLSafe(random)) == random)
            #expect(Base64.encodeStandard(random) == Data(random).base64EncodedString())
        }
    }

    @Test func requestFileCarriesEveryFieldInSyftRPCOrder() throws {
        let id = UUID().uuidString.lowercased()
        let record = RPCRecord(
            id: id, appName: "pingpong", funcName: "add", destination: "bob@example.com", sender: "alice@example.com",
            params: ["a": 1, "b": .string("x")], headers: ["x-a": "1"], createdAt: 1_764_000_000.25, deadline: 1_764_000_030.5,
            traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        let endpoint = try SyftBoxEndpoint(destination: "bob@example.com", appName: "pingpong", funcName: "add")
        let bytes = try SyftBoxRequestFile.encode(record, endpoint: endpoint, sender: "proxy@example.com")
        guard case .object(let file) = try JSONParser.parse(bytes) else { Issue.record("not an object"); return }
        #expect(file.members.map(\.key) == ["id", "sender", "url", "body", "headers", "created", "expires", "method"])
        #expect(file["id"] == .string(id))
        #expect(file["sender"] == "proxy@example.com")
        #expect(file["url"] == "syft://bob@example.com/app_data/pingpong/rpc/add")
        #expect(file["method"] == "POST")
        let body = try #require(file["body"]?.stringValue.flatMap(Base64.decode))
        #expect(String(decoding: body, as: UTF8.self) == #"{"a":1,"b":"x"}"#)
        #expect(file["headers"]?["x-a"] == "1")
        #expect(file["headers"]?["x-syft-proxy-sender"] == "alice@example.com")
        #expect(file["headers"]?["traceparent"]?.stringValue?.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-") == true)
        #expect(file["created"] == "2025-11-24T16:00:00.250000Z")
        #expect(SyftBoxRequestFile.expiry(of: bytes) == 1_764_000_030.5)
    }

    @Test func requestIdMustBeALowerCaseUUID() throws {
        let endpoint = try SyftBoxEndpoint(destination: "bob@example.com", appName: "pingpong", funcName: "add")
        for id in [UUID().uuidString, "not-a-uuid"] {
            let record = RPCRecord(id: id, appName: "pingpong", funcName: "add", destination: "bob@example.com", sender: nil,
                                   params: [:], headers: [:], createdAt: 0, deadline: 1)
            #expect(throws: SyftBoxError.self) { try SyftBoxRequestFile.encode(record, endpoint: endpoint, sender: "proxy@example.com") }
        }
    }

    private func response(_ status: Int, _ body: String?) throws -> SyftBoxResponseFile {
        let encoded = body.map { "\"\(Base64.encodeURLSafe(Array($0.utf8)))\"" } ?? "null"
        return try SyftBoxResponseFile(decoding: Array(#"{"id":"x","status_code":\#(status),"body":\#(encoded)}"#.utf8))
    }

    @Test func answersBecomeResultsOrFailures() throws {
        #expect(try response(200, #"{"sum":3}"#).answer == .result(.object(["sum": 3])))
        #expect(try response(200, "pong").answer == .result(.string("pong")))
        #expect(try response(200, nil).answer == .result(.null))
        #expect(try response(201, "12.50").answer == .result(.number("12.50")))
        #expect(try response(500, "Internal server error").answer == .error("the SyftBox app answered status 500: Internal server error"))
        #expect(try response(400, #"{"detail":"bad args"}"#).answer == .error("the SyftBox app answered status 400: bad args"))
        guard case .error(let expired) = try response(419, "Request expired").answer else { Issue.record("419 must fail"); return }
        #expect(expired.contains("expired") && expired.contains("419"))
        let binary = try SyftBoxResponseFile(decoding: Array(#"{"status_code":200,"body":"_w=="}"#.utf8))
        #expect(binary.answer == .result(.object(["base64": "/w=="])))
    }

    @Test func incompleteOrForeignAnswerFilesAreRejected() {
        for text in ["", #"{"status_code": 200, "bo"#, "[]", #"{"body":null}"#, #"{"status_code":"200"}"#,
                     #"{"status_code":200,"body":"%%%"}"#, #"{"status_code":200,"body":5}"#, #"{"status_code":99}"#] {
            #expect(throws: SyftBoxError.self, "\(text)") { try SyftBoxResponseFile(decoding: Array(text.utf8)) }
        }
    }

    @Test func timestampsRoundTripAndNaiveOnesAreRefused() {
        let now = 1_764_054_665.123456
        #expect(Timestamp.parseISO8601(Timestamp.iso8601(now)).map { abs($0 - now) < 1e-6 } == true)
        #expect(Timestamp.parseISO8601("2026-11-25T07:21:43.066613+00:00").map { abs($0 - 1_795_591_303.066613) < 1e-6 } == true)
        #expect(Timestamp.parseISO8601("2026-11-25T09:21:43+02:00") == 1_795_591_303)
        #expect(Timestamp.parseISO8601("2026-11-25T07:21:43") == nil)
        #expect(Timestamp.parseISO8601("yesterday") == nil)
    }
}
