import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// The operator console's scripts on a real 3-master Redis Cluster: each runs on one slot
/// (a cross-slot key would be refused), pages merge shards living on every master.
@Suite(.serialized) struct AdminClusterLayoutTests {
    @Test func pagesActionsQueuesEndpointsAndHeartbeatsWorkOnACluster() async throws {
        try await RedisClusterLayoutTests.withCluster(replicas: 2) { _, replicas in
            let one = replicas[0].store, two = replicas[1].store
            var created: [String] = []
            for index in 0..<40 {
                let request = newRequest(one, app: "app\(index % 5)", destination: "user\(index)@example.com")
                _ = try await one.create([request], idempotencyKey: nil)
                created.append(request.id)
            }
            let (items, _) = try await AdminStoreConformanceTests.allPages(two, AdminQuery(limit: 9))
            #expect(items.map(\.record.id) == created.reversed())

            let victim = created[3]
            guard case .done = try await two.cancel(id: victim, as: .cancelled, message: FailureMessages.cancelled) else {
                Issue.record("not cancelled"); return
            }
            #expect(try await one.adminRequests(AdminQuery(index: .failed)).items.map(\.record.id) == [victim])
            guard case .done = try await one.retry(id: victim) else { Issue.record("not retried"); return }
            #expect(try await two.adminRequest(id: victim)?.timeline.map(\.kind) == [.created, .failed, .retried])
            #expect(try await two.queues().map(\.depth).reduce(0, +) >= 40)
            #expect(try await one.purgeQueue(appName: "app0", destination: "user0@example.com", message: FailureMessages.purged).purged == 1)

            try await one.registerPushEndpoint(appName: "pushed", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            var report = EndpointHealthReport(appName: "pushed", destination: "bob@example.com")
            report.failed(at: Timestamp.now(), "refused")
            try await two.recordEndpointHealth([report])
            #expect(try await one.endpoints().first { $0.appName == "pushed" }?.health?.consecutiveFailures == 1)

            for (index, store) in [one, two].enumerated() {
                try await store.publishHeartbeat(ReplicaHeartbeat(
                    id: "r\(index)", version: "1", address: "a", startedAt: 0, inFlight: 0, roundTripsPerSecond: 0, p50Seconds: nil, p99Seconds: nil))
            }
            #expect(try await one.replicas().map(\.id) == ["r0", "r1"])
        }
    }
}
