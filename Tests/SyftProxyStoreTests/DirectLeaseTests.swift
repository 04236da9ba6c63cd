import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// The local fast path of `create(_:idempotencyKey:leasingTo:)`: a request leased in its create
/// step to a consumer on the creating replica, on every store kind.
@Suite struct DirectLeaseTests {
    @Test(arguments: StoreKind.allCases)
    func anEmptyPairsRequestIsLeasedInItsCreate(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(store)
            guard case .created(let record)? = try await store.create([request], idempotencyKey: nil, leasingTo: .webSocket).first else {
                Issue.record("not created"); return
            }
            #expect(record.state == .processing)
            #expect(record.attempts == 1)
            let token = try #require(record.leaseToken)
            // Stored as leased: the queue does not hand it out again.
            let stored = try #require(try await store.record(id: request.id))
            #expect(stored.state == .processing)
            #expect(stored.leaseToken == token)
            #expect(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10).isEmpty)
            #expect(try await store.renewLease(id: request.id, token: token) == .renewed)
            guard case .accepted(let answered) = try await store.answer(id: request.id, with: .result(3), leaseToken: token) else {
                Issue.record("the lease holder's answer was refused"); return
            }
            #expect(answered.state == .completed)
            let timeline = try #require(try await store.adminRequest(id: request.id)).timeline
            #expect(timeline.map(\.kind) == [.created, .leased, .completed])
            #expect(timeline[1].detail.contains(TimelineHolders.webSocket("")))
            #expect(timeline[1].detail.contains("attempt 1"))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func queuedWorkIsNeverOvertaken(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let first = newRequest(store, params: ["n": 1])
            _ = try await store.create([first], idempotencyKey: nil)
            let second = newRequest(store, params: ["n": 2])
            let outcome = try #require(try await store.create([second], idempotencyKey: nil, leasingTo: .webSocket).first)
            #expect(outcome.record.state == .pending)
            #expect(outcome.record.leaseToken == nil)
            let leased = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10)
            #expect(leased.map(\.id) == [first.id, second.id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aPairWithAPushEndpointStaysOnPush(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            let request = newRequest(store)
            let outcome = try #require(try await store.create([request], idempotencyKey: nil, leasingTo: .webSocket).first)
            #expect(outcome.record.state == .pending)
            let pushed = try await store.leasePush(max: 10)
            #expect(pushed.map(\.record.id) == [request.id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anIdempotencyKeyOrABroadcastIsQueued(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let keyed = newRequest(store, params: ["n": 1])
            let claimed = try #require(try await store.create([keyed], idempotencyKey: idempotencyKey("k-1", for: keyed), leasingTo: .webSocket).first)
            #expect(claimed.record.state == .pending)
            let broadcast = [newRequest(store, destination: "carol@example.com"), newRequest(store, destination: "dave@example.com")]
            let outcomes = try await store.create(broadcast, idempotencyKey: nil, leasingTo: .webSocket)
            #expect(outcomes.allSatisfy { $0.record.state == .pending })
        }
    }

    /// The consumer that took it (or its whole replica) is gone: the lease's expiry delivers it
    /// again, counted, as any lease's.
    @Test(arguments: StoreKind.allCases)
    func anUnansweredDirectLeaseIsDeliveredAgainWhenItExpires(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 0.3)) { (store: any RPCStore) async throws in
            let request = newRequest(store)
            let leased = try #require(try await store.create([request], idempotencyKey: nil, leasingTo: .webSocket).first?.record)
            #expect(leased.state == .processing)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await store.sweep().redelivered == 1)
            let again = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10)
            #expect(again.map(\.id) == [request.id])
            #expect(again.first?.attempts == 2)
            #expect(again.first?.leaseToken != leased.leaseToken)
            // The first holder's answer no longer counts.
            guard case .leaseLost = try await store.answer(id: request.id, with: .result(1), leaseToken: leased.leaseToken) else {
                Issue.record("the expired holder's answer was taken"); return
            }
        }
    }

    /// A blocking create that leased its request is woken by the holder's answer.
    @Test(arguments: StoreKind.allCases)
    func aBlockingCreateSeesItsLeaseAndItsAnswer(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(store)
            let handed = AsyncStream.makeStream(of: RPCRecord.self)
            async let waited = store.createAndWait(request, idempotencyKey: nil, leasingTo: .webSocket) { outcome in
                handed.continuation.yield(outcome.record)
                handed.continuation.finish()
            }
            var iterator = handed.stream.makeAsyncIterator()
            let leased = try #require(await iterator.next())
            #expect(leased.state == .processing)
            _ = try await store.answer(id: request.id, with: .result(7), leaseToken: leased.leaseToken)
            let final = try #require(try await waited)
            #expect(final.current.state == .completed)
            #expect(final.current.result == 7)
        }
    }
}
