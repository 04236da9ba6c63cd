import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Standing adversarial suite, at the socket level against a real `syft-proxy serve`:
/// oversized and numerous headers are refused without harm, and a client that trickles its
/// headers or its body is cut off by the server instead of holding a connection for ever.
@Suite(.serialized) struct ConnectionLimitTests {
    static let quick = ["PROXY_BODY_TIMEOUT": "2", "PROXY_IDLE_TIMEOUT": "2", "PROXY_API_KEYS": "alice-key-0001=alice@example.com"]

    @Test func oneHugeHeaderIsRefusedAndTheServerLivesOn() async throws {
        let proxy = try await ProxyProcess.launch(environment: Self.quick)
        defer { proxy.stop() }
        let connection = try RawConnection(port: proxy.port)
        try connection.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 64 * 1024))\r\n\r\n")
        let answer = try connection.readAll(timeout: 10)
        #expect(answer.hasPrefix("HTTP/1.1 400") || answer.hasPrefix("HTTP/1.1 431"), "\(answer.prefix(200))")
        #expect(try await HTTP(baseURL: proxy.baseURL).get("/health").status == 200)
        #expect(proxy.process.isRunning)
    }

    @Test func aThousandHeadersAreRefusedAndTheServerLivesOn() async throws {
        let proxy = try await ProxyProcess.launch(environment: Self.quick)
        defer { proxy.stop() }
        let connection = try RawConnection(port: proxy.port)
        let headers = (0..<1000).map { "X-H\($0): v\r\n" }.joined()
        try connection.send("POST /rpc/send HTTP/1.1\r\nHost: x\r\n\(headers)Content-Length: 2\r\n\r\n{}")
        let answer = try connection.readAll(timeout: 10)
        #expect(answer.hasPrefix("HTTP/1.1 400") || answer.hasPrefix("HTTP/1.1 431"), "\(answer.prefix(200))")
        #expect(try await HTTP(baseURL: proxy.baseURL).get("/health").status == 200)
    }

    @Test func headersWithinTheLimitsAreServed() async throws {
        let proxy = try await ProxyProcess.launch(environment: Self.quick)
        defer { proxy.stop() }
        let connection = try RawConnection(port: proxy.port)
        let headers = (0..<50).map { "X-H\($0): \(String(repeating: "v", count: 100))\r\n" }.joined()
        try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\(headers)Connection: close\r\n\r\n")
        let answer = try connection.readAll(timeout: 10)
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(200))")
    }

    /// A body of 100 bytes, one byte every 0.3 s: it would take 30 s; the server answers 408
    /// and closes the connection after PROXY_BODY_TIMEOUT (2 s), although the client never
    /// went quiet long enough for the idle timeout.
    @Test func aTrickledBodyIsCutOff() async throws {
        let proxy = try await ProxyProcess.launch(environment: Self.quick)
        defer { proxy.stop() }
        let connection = try RawConnection(port: proxy.port)
        try connection.send("POST /rpc/send HTTP/1.1\r\nHost: x\r\nX-API-Key: alice-key-0001\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        let started = Date()
        var closed = false
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(300))
            if (try? connection.send(" ")) == nil || connection.peerClosed() { closed = true; break }
            if Date().timeIntervalSince(started) > 12 { break }
        }
        let elapsed = Date().timeIntervalSince(started)
        let answer = try connection.readAll(timeout: 5)
        #expect(closed || answer.contains("408"), "still open after \(elapsed) s")
        #expect(elapsed < 8, "cut off only after \(elapsed) s")
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer.prefix(300))")
        #expect(answer.contains("PROXY_BODY_TIMEOUT"))
        // The replica serves others.
        #expect(try await HTTP(baseURL: proxy.baseURL).get("/health").status == 200)
    }

    /// A route that answers before reading the body (401 here): the answer goes out, and the
    /// trickled body it never reads still cannot hold the connection.
    @Test func aTrickledBodyAfterAnEarlyAnswerIsCutOffToo() async throws {
        let proxy = try await ProxyProcess.launch(environment: Self.quick)
        defer { proxy.stop() }
        let connection = try RawConnection(port: proxy.port)
        try connection.send("POST /rpc/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        let started = Date()
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(300))
            if (try? connection.send(" ")) == nil || connection.peerClosed() { break }
            if Date().timeIntervalSince(started) > 12 { break }
        }
        let elapsed = Date().timeIntervalSince(started)
        let answer = try connection.readAll(timeout: 5)
        #expect(elapsed < 8, "cut off only after \(elapsed) s")
        #expect(answer.hasPrefix("HTTP/1.1 401"), "\(answer.prefix(300))")
    }

    /// Headers sent a few bytes at a time never complete a request head; the idle timeout
    /// (PROXY_IDLE_TIMEOUT, 2 s here) closes the connection.
    @Test func trickledHeadersAreCutOff() async throws {
        let proxy = try await ProxyProcess.launch(environment: Self.quick)
        defer { proxy.stop() }
        let connection = try RawConnection(port: proxy.port)
        try connection.send("GET /health HTTP/1.1\r\n")
        let started = Date()
        var closed = false
        for n in 0..<100 {
            try await Task.sleep(for: .milliseconds(300))
            if (try? connection.send("X-\(n): y\r\n")) == nil || connection.peerClosed() { closed = true; break }
            if Date().timeIntervalSince(started) > 12 { break }
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(closed, "still open after \(elapsed) s")
        #expect(elapsed < 8, "cut off only after \(elapsed) s")
    }

    /// A body sent at a normal pace is not affected.
    @Test func aBodyInTimeIsServed() async throws {
        let proxy = try await ProxyProcess.launch(environment: Self.quick)
        defer { proxy.stop() }
        let connection = try RawConnection(port: proxy.port)
        let body = #"{"app_name":"calculator","func_name":"add","destination":"bob@example.com","params":{}}"#
        let head = "POST /rpc/send HTTP/1.1\r\nHost: x\r\nX-API-Key: alice-key-0001\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        try connection.send(head + body.prefix(20))
        try await Task.sleep(for: .milliseconds(500))
        try connection.send(String(body.dropFirst(20)))
        let answer = try connection.readAll(timeout: 10)
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(300))")
    }
}
