import Foundation
import SyftProxyCore
import SyftProxyServer
import SyftProxyTestSupport
import Testing

/// X-Forwarded-For is believed only from a trusted proxy, and then read right to left.
@Suite struct ClientAddressTests {
    static let ingress = [IPNetwork("10.0.0.0/8")!, IPNetwork("fd00::/8")!]

    @Test func anUntrustedPeerIsTheClientWhateverTheHeaderSays() {
        #expect(ClientAddress.resolve(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"], trusted: Self.ingress) == "203.0.113.9")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["1.2.3.4"], trusted: []) == "10.0.0.5")
        #expect(ClientAddress.resolve(peer: "unknown", forwardedFor: ["1.2.3.4"], trusted: Self.ingress) == "unknown")
    }

    @Test func aTrustedPeerHandsOverTheRightMostUntrustedAddress() {
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["198.51.100.7"], trusted: Self.ingress) == "198.51.100.7")
        // The client wrote "1.1.1.1" itself; the ingress appended what it saw.
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["1.1.1.1, 198.51.100.7"], trusted: Self.ingress) == "198.51.100.7")
        // Two trusted hops (an edge proxy and the ingress), in one header or several.
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["1.1.1.1, 198.51.100.7, 10.9.9.9"], trusted: Self.ingress) == "198.51.100.7")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["1.1.1.1", "198.51.100.7", "10.9.9.9"], trusted: Self.ingress) == "198.51.100.7")
        #expect(ClientAddress.resolve(peer: "fd00::1", forwardedFor: ["2001:db8::7"], trusted: Self.ingress) == "2001:db8::7")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["[2001:DB8::7]:4711"], trusted: Self.ingress) == "2001:db8::7")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["198.51.100.7:4711"], trusted: Self.ingress) == "198.51.100.7")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["::ffff:198.51.100.7"], trusted: Self.ingress) == "198.51.100.7")
    }

    @Test func aHeaderThatProvesNothingLeavesTheLastTrustedHop() {
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: [], trusted: Self.ingress) == "10.0.0.5")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["garbage"], trusted: Self.ingress) == "10.0.0.5")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["198.51.100.7, garbage, 10.1.1.1"], trusted: Self.ingress) == "10.1.1.1")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["10.1.1.1, 10.2.2.2"], trusted: Self.ingress) == "10.1.1.1")
    }

    /// Over a real replica: without trust every caller behind one peer shares a bucket; with
    /// the peer trusted, each forwarded client has its own, and a spoofed left-most entry
    /// buys nothing.
    @Test func rateLimitBucketsFollowTheForwardedClientOnlyFromATrustedPeer() async throws {
        func spend(_ http: HTTP, _ forwardedFor: String) async throws -> Int {
            try await http.post("/rpc/send", [
                "app_name": "calculator", "func_name": "add", "destination": "bob@example.com", "params": [:],
            ], headers: [("X-Forwarded-For", forwardedFor)]).status
        }
        let untrusted = try await ProxyProcess.launch(environment: ["PROXY_RATE_LIMIT": "2"])
        defer { untrusted.stop() }
        let open = HTTP(baseURL: untrusted.baseURL)
        #expect(try await spend(open, "198.51.100.1") == 200)
        #expect(try await spend(open, "198.51.100.2") == 200)
        #expect(try await spend(open, "198.51.100.3") == 429)

        let trusted = try await ProxyProcess.launch(environment: ["PROXY_RATE_LIMIT": "2", "PROXY_TRUSTED_PROXIES": "127.0.0.0/8,::1/128"])
        defer { trusted.stop() }
        let behind = HTTP(baseURL: trusted.baseURL)
        #expect(try await spend(behind, "198.51.100.1") == 200)
        #expect(try await spend(behind, "198.51.100.1") == 200)
        #expect(try await spend(behind, "198.51.100.1") == 429)
        // The client prepends a fresh address each time; the right-most untrusted one is still .1.
        #expect(try await spend(behind, "203.0.113.50, 198.51.100.1") == 429)
        #expect(try await spend(behind, "198.51.100.2") == 200)
    }

    /// On an open API, Idempotency-Keys are per client address: two clients behind one trusted
    /// ingress that pick the same key each get their own request; a true repeat is replayed.
    @Test func idempotencyKeysOfTwoForwardedClientsNeverMeet() async throws {
        func send(_ http: HTTP, _ forwardedFor: String) async throws -> (id: String?, replay: Bool) {
            let answer = try await http.post("/rpc/send", [
                "app_name": "calculator", "func_name": "add", "destination": "bob@example.com", "params": ["a": 1],
            ], headers: [("X-Forwarded-For", forwardedFor), ("Idempotency-Key", "same-key-1")])
            return (answer.json?["id"]?.stringValue, answer.headers.first(name: "Idempotent-Replay") == "true")
        }
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_TRUSTED_PROXIES": "127.0.0.0/8,::1/128"])
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let first = try await send(http, "198.51.100.1")
        let other = try await send(http, "198.51.100.2")
        let repeated = try await send(http, "198.51.100.1")
        #expect(first.id != nil && other.id != nil)
        #expect(first.id != other.id, "another client's key gave it the first client's request")
        #expect(!other.replay)
        #expect(repeated.id == first.id && repeated.replay)
    }
}
