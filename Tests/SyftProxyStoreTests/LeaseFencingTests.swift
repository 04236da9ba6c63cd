import SyftProxyCore
import Testing

/// A lease holder whose lease expired and was taken over acts for no one: its renew, release
/// and answer change nothing, and the attempts count stays right.
@Suite struct LeaseFencingTests {
    @Test(arguments: StoreKind.allCases)
    func staleHolderCannotRenewReleaseOrAnswer(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 0.3)) { (store: any RPCStore) async throws in
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            let stale = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            let staleToken = try #require(stale.leaseToken)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await store.sweep().redelivered == 1)
            let current = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            let currentToken = try #require(current.leaseToken)
            #expect(current.attempts == 2)
            #expect(currentToken != staleToken)

            // The stale holder: nothing it does lands.
            #expect(try await store.renewLease(id: request.id, token: staleToken) == .lost)
            try await store.releaseLease(id: request.id, token: staleToken)
            let afterRelease = try #require(try await store.record(id: request.id))
            #expect(afterRelease.state == .processing)
            #expect(afterRelease.attempts == 2)
            guard case .leaseLost = try await store.answer(id: request.id, with: .result("stale"), leaseToken: staleToken) else {
                Issue.record("a stale holder's answer was taken"); return
            }
            #expect(try await store.record(id: request.id)?.state == .processing)

            // The current holder still holds it.
            #expect(try await store.renewLease(id: request.id, token: currentToken) == .renewed)
            guard case .accepted(let final) = try await store.answer(id: request.id, with: .result("fresh"), leaseToken: currentToken) else {
                Issue.record("the current holder's answer was refused"); return
            }
            #expect(final.result == .string("fresh"))
            #expect(final.attempts == 2)
            #expect(final.leaseToken == nil)
            #expect(try await store.renewLease(id: request.id, token: currentToken) == .ended)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func releaseByTheHolderHandsBackWithoutAnAttempt(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 0.3)) { (store: any RPCStore) async throws in
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            let first = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            try await store.releaseLease(id: request.id, token: try #require(first.leaseToken))
            // Released twice with the same token: the second is stale and changes nothing.
            let second = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            try await store.releaseLease(id: request.id, token: try #require(first.leaseToken))
            let record = try #require(try await store.record(id: request.id))
            #expect(record.state == .processing)
            #expect(record.attempts == 1)
            #expect(record.leaseToken == second.leaseToken)
            // An answer without a token (App B's reply) is taken whoever holds the lease.
            guard case .accepted = try await store.answer(id: request.id, with: .result(1)) else {
                Issue.record("a reply was refused"); return
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func twoForwardersAndAnExpiredLease(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 0.3)) { (store: any RPCStore) async throws in
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            let slow = try #require(try await store.leasePush(max: 1).first)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await store.sweep().redelivered == 1)
            let fast = try #require(try await store.leasePush(max: 1).first)
            #expect(fast.record.attempts == 2)
            // The slow forwarder gives up (shutdown) after the fast one took over.
            try await store.releaseLease(id: request.id, token: try #require(slow.record.leaseToken))
            #expect(try await store.leasePush(max: 1).isEmpty)
            guard case .accepted = try await store.answer(id: request.id, with: .result(2), leaseToken: fast.record.leaseToken) else {
                Issue.record("the current forwarder's answer was refused"); return
            }
            #expect(try await store.record(id: request.id)?.attempts == 2)
        }
    }
}
