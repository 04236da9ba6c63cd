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

/// A blocking TCP connection to 127.0.0.1 for sending exactly the bytes a test wants.
final class RawConnection {
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(socket); throw TestFailure("connect() to port \(port) failed") }
    }

    deinit { close(socket) }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeMutableBytes { Glibc.send(socket, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw TestFailure("send failed: errno \(errno)") }
            offset += sent
        }
    }

    /// Whether the server closed its side (a read would return end of file or an error now).
    func peerClosed() -> Bool {
        // POLLRDHUP (Linux): the peer shut down its side, even with unread data left.
        let readHangUp: Int16 = 0x2000
        var descriptor = pollfd(fd: socket, events: readHangUp, revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return false }
        return descriptor.revents & (readHangUp | Int16(POLLHUP) | Int16(POLLERR)) != 0
    }

    /// Everything the server sends until it closes the connection or `timeout` passes.
    func readAll(timeout: Double) throws -> String {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}
