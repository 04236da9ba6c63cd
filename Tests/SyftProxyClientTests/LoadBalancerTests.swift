import Testing
@testable import SyftProxyClient

@Suite struct LoadBalancerTests {
    @Test func roundRobinsOverHealthyReplicas() {
        let balancer = LoadBalancer(urls: ["http://a", "http://b", "http://c"])
        let picks = (0..<6).map { _ in balancer.next(excluding: [], now: 0) }
        #expect(picks == [.healthy(0), .healthy(1), .healthy(2), .healthy(0), .healthy(1), .healthy(2)])
    }

    @Test func failedReplicaLeavesRotationAndIsProbedWhenItsPauseEnds() {
        let balancer = LoadBalancer(urls: ["http://a", "http://b", "http://c"], baseCooldown: 1, maximumCooldown: 8, ejectAfter: 1)
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
        let balancer = LoadBalancer(urls: ["http://a"], baseCooldown: 1, maximumCooldown: 4, ejectAfter: 1)
        for _ in 0..<5 { balancer.markFailed(0, now: 0) }
        #expect(balancer.next(excluding: [], now: 3.9) == .lastResort(0), "not yet due for a probe")
        #expect(balancer.next(excluding: [], now: 4.1) == .probe(0))
    }

    @Test func excludedReplicasAreSkipped() {
        let balancer = LoadBalancer(urls: ["http://a", "http://b"])
        #expect(balancer.next(excluding: [0], now: 0) == .healthy(1))
        #expect(balancer.next(excluding: [0, 1], now: 0) == nil)
    }
}

@Suite struct OutlierDetectionTests {
    @Test func aReplicaLeavesOnlyAfterConsecutiveConnectionFailures() {
        let balancer = LoadBalancer(urls: ["http://a", "http://b"], baseCooldown: 1, maximumCooldown: 8, ejectAfter: 3)
        balancer.markFailed(0, now: 10)
        balancer.markFailed(0, now: 10)
        #expect(balancer.healthyURLs == ["http://a", "http://b"], "two failures are not an outlier yet")
        balancer.markHealthy(0)
        balancer.markFailed(0, now: 10)
        balancer.markFailed(0, now: 10)
        #expect(balancer.healthyURLs.count == 2, "a success in between resets the count")
        balancer.markFailed(0, now: 10)
        #expect(balancer.healthyURLs == ["http://b"])
    }

    @Test func withEveryReplicaOutTheSoonestBackIsStillOffered() {
        let balancer = LoadBalancer(urls: ["http://a", "http://b"], baseCooldown: 5, maximumCooldown: 5, ejectAfter: 1)
        balancer.markFailed(0, now: 10)
        balancer.markFailed(1, now: 11)
        #expect(balancer.next(excluding: [], now: 12) == .lastResort(0))
        #expect(balancer.next(excluding: [0], now: 12) == .lastResort(1))
        #expect(balancer.next(excluding: [0, 1], now: 12) == nil)
    }
}
