import SyftProxyCore
import Testing
@testable import SyftProxyServer

/// Automatic routing remembers its decisions for a few seconds; the memory of pairs must not
/// grow with every pair ever sent to.
@Suite struct SyftBoxRoutingMemoryTests {
    @Test func decisionsAreRememberedThenForgotten() {
        var memory = RecentDecisions(limit: 100)
        let pair = QueueName(appName: "pingpong", destination: "bob@example.com")
        #expect(!memory.isFresh(pair, now: 10))
        memory.remember(pair, until: 15, now: 10)
        #expect(memory.isFresh(pair, now: 14))
        #expect(!memory.isFresh(pair, now: 15))
    }

    @Test func memoryStaysWithinItsLimit() {
        var memory = RecentDecisions(limit: 100)
        for n in 0..<10_000 {
            memory.remember(QueueName(appName: "pingpong", destination: "user\(n)@example.com"), until: Double(n) + 5, now: Double(n))
            #expect(memory.count <= 100)
        }
    }
}
