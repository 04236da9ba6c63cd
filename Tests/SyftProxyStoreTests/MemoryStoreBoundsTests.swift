import Synchronization
import SyftProxyCore
import Testing
@testable import SyftProxyMemoryStore

/// The embedded store keeps per-pair state only while a pair is in use.
@Suite struct MemoryStoreBoundsTests {
    final class ManualClock: Sendable {
        private let current = Mutex<Double>(1_000_000)
        var now: Double { current.withLock { $0 } }
        func advance(_ seconds: Double) { current.withLock { $0 += seconds } }
    }

    @Test func idlePairsAreForgotten() async throws {
        let clock = ManualClock()
        let store = MemoryStore(settings: StoreSettings(), clock: { clock.now })
        for n in 0..<100 {
            _ = try await store.leaseInbox(appName: "calculator", destination: "user\(n)@example.com", max: 1)
        }
        let ended = newRequest(store, destination: "nobody@example.com")
        _ = try await store.create([ended], idempotencyKey: nil)
        _ = try await store.answer(id: ended.id, with: .result(1))
        #expect(store.trackedPairCount == 101)
        clock.advance(pullConsumerWindow + 1)
        for _ in 0..<10 { _ = try await store.sweep() }
        #expect(store.trackedPairCount == 0)
        #expect(try await store.hasActivePullConsumer(appName: "calculator", destination: "user0@example.com") == false)
    }

    @Test func recentlyPolledPairsAreKept() async throws {
        let clock = ManualClock()
        let store = MemoryStore(settings: StoreSettings(), clock: { clock.now })
        _ = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
        clock.advance(pullConsumerWindow / 2)
        _ = try await store.sweep()
        #expect(try await store.hasActivePullConsumer(appName: "calculator", destination: "bob@example.com"))
    }
}
