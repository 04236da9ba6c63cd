import SyftProxyCore
import Testing

/// The SyftBox transport marks a request before it writes its file; only a marked request's
/// files are the proxy's own. The mark is fenced like every other lease holder's act, survives
/// redelivery (the next holder must know the file is there), and never lands on an ended request.
@Suite struct SyftBoxMarkTests {
    @Test(arguments: StoreKind.allCases)
    func markIsFencedByTheLeaseAndSurvivesRedelivery(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 30)) { (store: any RPCStore) async throws in
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            #expect(try await store.record(id: request.id)?.syftBoxSender == nil)
            let first = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            let firstToken = try #require(first.leaseToken)
            #expect(first.syftBoxSender == nil)

            #expect(try await store.markSyftBoxDelivery(id: request.id, sender: "proxy@example.com", leaseToken: firstToken + "0") == false,
                    "a token that is not the lease's marks nothing")
            #expect(try await store.record(id: request.id)?.syftBoxSender == nil)
            #expect(try await store.markSyftBoxDelivery(id: request.id, sender: "proxy@example.com", leaseToken: firstToken))
            #expect(try await store.record(id: request.id)?.syftBoxSender == "proxy@example.com")

            // Handed back and leased again: the next holder sees the mark.
            try await store.releaseLease(id: request.id, token: firstToken)
            let second = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            #expect(second.syftBoxSender == "proxy@example.com")
            #expect(try await store.markSyftBoxDelivery(id: request.id, sender: "proxy@example.com", leaseToken: firstToken) == false,
                    "the earlier holder marks nothing any more")

            // Ended: nothing is marked, the mark that was there stays.
            _ = try await store.answer(id: request.id, with: .result(1), leaseToken: second.leaseToken)
            #expect(try await store.markSyftBoxDelivery(id: request.id, sender: "other@example.com", leaseToken: nil) == false)
            #expect(try await store.record(id: request.id)?.syftBoxSender == "proxy@example.com")
            #expect(try await store.markSyftBoxDelivery(id: "no-such-request", sender: "proxy@example.com", leaseToken: nil) == false)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func markWithoutALeaseNeedsAnOpenRequest(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let open = newRequest(store)
            let overdue = newRequest(store, timeout: 0.2)
            _ = try await store.create([open, overdue], idempotencyKey: nil)
            #expect(try await store.markSyftBoxDelivery(id: open.id, sender: "proxy@example.com", leaseToken: nil))
            #expect(try await store.record(id: open.id)?.syftBoxSender == "proxy@example.com")
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await store.markSyftBoxDelivery(id: overdue.id, sender: "proxy@example.com", leaseToken: nil) == false,
                    "past its deadline a request is not written any more")
        }
    }
}
