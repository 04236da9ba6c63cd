import Foundation
import Hummingbird
import HTTPTypes
import Synchronization
import Testing
@testable import SyftProxyClient
import SyftProxyCore
import SyftProxyTestSupport

/// How the client treats replicas that misbehave without being down: slow answers, 503 with
/// Retry-After, every breaker open. Stand-in replicas on loopback, no proxy needed.
@Suite struct TransportFaultTests {
    static let statusDocument = RPCStatusDocument(
        id: "r1", appName: "a", funcName: "f", destination: "bob@example.com", sender: nil, state: .pending,
        result: nil, error: nil, createdAt: 1_800_000_000, updatedAt: 1_800_000_000, completedAt: nil, attempts: 0
    ).json

    @Test func aSlowAnswerIsNotAReplicaFailure() async throws {
        let slow = try await LoopbackServer.start { router in
            router.get("/rpc/status/:id") { _, _ -> Response in
                try await Task.sleep(for: .seconds(2))
                return jsonResponse(Self.statusDocument)
            }
        }
        defer { Task { await slow.stop() } }
        let client = ProxyClient(urls: [slow.baseURL], transportTimeout: 0.3)
        await #expect(throws: ProxyClientError.self) { try await client.status("r1") }
        #expect(client.balancer.healthyURLs == [slow.baseURL], "a replica that answers slowly stays in rotation")
    }

    @Test func retryAfterIsHonouredWithinTheCallsBudget() async throws {
        let calls = Mutex(0)
        let busy = try await LoopbackServer.start { router in
            router.get("/rpc/status/:id") { _, _ -> Response in
                let n = calls.withLock { $0 += 1; return $0 }
                if n == 1 { return Response(status: .serviceUnavailable, headers: [.retryAfter: "1"]) }
                return jsonResponse(Self.statusDocument)
            }
        }
        defer { Task { await busy.stop() } }
        let client = ProxyClient(urls: [busy.baseURL], transportTimeout: 5)
        let started = ContinuousClock.now
        let status = try await client.status("r1")
        #expect(status.id == "r1")
        #expect(ContinuousClock.now - started >= .milliseconds(900), "the retry waited for Retry-After")
        #expect(calls.withLock { $0 } == 2)
    }

    @Test func withEveryBreakerOpenTheClientStillTriesAReplica() async throws {
        let live = try await LoopbackServer.start { router in
            router.get("/rpc/status/:id") { _, _ in jsonResponse(Self.statusDocument) }
        }
        defer { Task { await live.stop() } }
        let balancer = LoadBalancer(urls: [live.baseURL], baseCooldown: 30, maximumCooldown: 30, ejectAfter: 1)
        balancer.markFailed(0)
        let client = ProxyClient(balancer: balancer)
        #expect(try await client.status("r1").id == "r1")
        #expect(balancer.healthyURLs == [live.baseURL], "the answer put the replica back")
    }

    @Test func anEmptyURLListIsAnErrorNotACrash() async throws {
        let client = ProxyClient(urls: [])
        await #expect {
            try await client.status("r1")
        } throws: { error in
            guard case ProxyClientError.configuration(let detail) = error else { return false }
            return detail.contains("no replica URL")
        }
    }
}
