import SyftProxyCore
import Testing

/// A lease holder whose lease expired and was taken over acts for no one: its renew, release
/// and answer change nothing, and the attempts count stays right.
@Suite struct LeaseFencingTests {
    @Test(arguments: StoreKind.allCases)
    func staleHolderCannotRenewReleaseOrAnswer(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 0.3)) { (store: any RPCStore) async throws in
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            let stale = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await store.sweep().redelivered == 1)
            let current = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            #expect(current.attempts == 2)

            try await store.releaseLease(id: stale.id)
            let afterRelease = try #require(try await store.record(id: request.id))
            #expect(afterRelease.state == .processing)
            #expect(afterRelease.attempts == 2)
        }
    }
}
