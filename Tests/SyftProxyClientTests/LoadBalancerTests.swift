import Testing
@testable import SyftProxyClient

@Suite struct LoadBalancerTests {
    @Test func roundRobinsOverHealthyReplicas() {
        let balancer = LoadBalancer(urls: ["http://a", "http://b", "http://c"])
        let picks = (0..<6).map { _ in balancer.next(excluding: [], now: 0) }
        #expect(picks == [.healthy(0), .healthy(1), .healthy(2), .healthy(0), .healthy(1), .healthy(2)])
    }

    @Test func failedReplicaLeavesRotationAndIsProbedWhenItsPauseEnds() {
        let balancer = LoadBalancer(urls: ["http://a", "http://b", "http://c"], baseCooldown: 1, maximumCooldown: 8)
        balancer.markFailed(1, now: 100)
        #expect(balancer.healthyURLs == ["http://a", "http://c"])
        let during = (0..<4).map { _ in balancer.next(excluding: [], now: 100.5) }
        #expect(!during.contains(.healthy(1)) && !during.contains(.probe(1)))
        // Pause over: the probe comes first even though two replicas are healthy, and only once.
        #expect(balancer.next(excluding: [], now: 101.1) == .probe(1))
        #expect(balancer.next(excluding: [], now: 101.1) != .probe(1))
        balancer.markHealthy(1)
        #expect(balancer.healthyURLs.count == 3)
    }

    @Test func cooldownDoublesUpToItsMaximum() {
        let balancer = LoadBalancer(urls: ["http://a"], baseCooldown: 1, maximumCooldown: 4)
        for _ in 0..<5 { balancer.markFailed(0, now: 0) }
        #expect(balancer.next(excluding: [], now: 3.9) == nil)
        #expect(balancer.next(excluding: [], now: 4.1) == .probe(0))
    }

    @Test func excludedReplicasAreSkipped() {
        let balancer = LoadBalancer(urls: ["http://a", "http://b"])
        #expect(balancer.next(excluding: [0], now: 0) == .healthy(1))
        #expect(balancer.next(excluding: [0, 1], now: 0) == nil)
    }
}

