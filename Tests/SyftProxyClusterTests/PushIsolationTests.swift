import Foundation
import Testing
import SyftProxyCore
import SyftProxyTestSupport

/// Push deliveries to misbehaving apps must not hold up deliveries to other apps on the same
/// replicas: real processes, a real redis-server, apps on loopback.
@Suite(.serialized) struct PushIsolationTests {
    @Test func appsThatStallMidBodyDoNotDelayAHealthyApp() async throws {
        let cluster = try await Cluster.launch(replicas: 2)
        defer { cluster.stop() }
        let healthy = try await HealthyPushApp()
        defer { Task { await healthy.stop() } }
        _ = try await cluster.http(0).put("/rpc/apps/healthy/endpoint", ["destination": "bob@example.com", "url": .string(healthy.url)])
        var stalled: [StallingPushApp] = []
        for index in 0..<6 {
            let app = try await StallingPushApp()
            stalled.append(app)
            _ = try await cluster.http(0).put("/rpc/apps/stall\(index)/endpoint", ["destination": "bob@example.com", "url": .string(app.url)])
        }
        defer { for app in stalled { Task { await app.stop() } } }

        let timeout = 5.0
        let sentAt = Date()
        let ids = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<6 {
                for n in 0..<40 {
                    group.addTask {
                        let answer = try await send(cluster.http(n % 2), app: "stall\(index)", params: ["n": .int(n)], timeout: timeout)
                        return answer.json?["id"]?.stringValue
                    }
                }
            }
            var ids: [String] = []
            for try await id in group { if let id { ids.append(id) } }
            return ids
        }
        #expect(ids.count == 240)
        // Let every replica's forwarder take up stalled deliveries.
        try await Task.sleep(for: .milliseconds(500))
        for replica in 0..<2 {
            let started = Date()
            let answer = try await send(cluster.http(replica), app: "healthy", params: ["n": .int(replica)], blocking: true, timeout: 10)
            let took = Date().timeIntervalSince(started)
            #expect(answer.status == 200 && answer.json?["status"] == "completed", "replica \(replica): \(answer.text)")
            #expect(took < 3, "the healthy app's call through replica \(replica) took \(took) s")
        }
        var notFailed: [String] = []
        for id in ids {
            let left = max(0.5, timeout + 3 - Date().timeIntervalSince(sentAt))
            let status = try await waitForStatus(cluster.http(0), id: id, within: left, until: isFinal)
            if status?["status"] != "failed" { notFailed.append(status?.compactString ?? "\(id): unknown") }
        }
        #expect(notFailed.isEmpty, "\(notFailed.count) stalled requests did not fail by their deadlines, e.g. \(notFailed.prefix(3))")
        // The stalled deliveries gave their slots back at their deadlines, not when the apps
        // finally close their connections.
        for replica in 0..<2 {
            let started = Date()
            let answer = try await send(cluster.http(replica), app: "healthy", params: ["n": .int(replica)], blocking: true, timeout: 10)
            let took = Date().timeIntervalSince(started)
            #expect(answer.json?["status"] == "completed")
            #expect(took < 3, "after the stalled deadlines, the healthy call through replica \(replica) took \(took) s")
        }
    }

    @Test(arguments: [false, true])
    func anAppRefusingConnectionsHoldsNoSlotAndGetsItsRequestsOnceItListens(redis: Bool) async throws {
        let cluster: Cluster? = redis ? try await Cluster.launch(replicas: 1) : nil
        let embedded: ProxyProcess? = redis ? nil : try await ProxyProcess.launch()
        defer { cluster?.stop(); embedded?.stop() }
        let http = HTTP(baseURL: cluster?.urls[0] ?? embedded?.baseURL ?? "")
        let healthy = try await HealthyPushApp()
        defer { Task { await healthy.stop() } }
        _ = try await http.put("/rpc/apps/healthy/endpoint", ["destination": "bob@example.com", "url": .string(healthy.url)])
        // Reserve a port, register it, and only start listening there later.
        let placeholder = try await HealthyPushApp()
        let port = placeholder.port
        await placeholder.stop()
        _ = try await http.put("/rpc/apps/late/endpoint", ["destination": "bob@example.com", "url": .string("http://127.0.0.1:\(port)/rpc")])
        let ids = try await withThrowingTaskGroup(of: String?.self) { group in
            for n in 0..<100 {
                group.addTask { try await send(http, app: "late", params: ["n": .int(n)], timeout: 30).json?["id"]?.stringValue }
            }
            var ids: [String] = []
            for try await id in group { if let id { ids.append(id) } }
            return ids
        }
        #expect(ids.count == 100)
        try await Task.sleep(for: .milliseconds(300))
        for n in 0..<3 {
            let started = Date()
            let answer = try await send(http, app: "healthy", params: ["n": .int(n)], blocking: true, timeout: 10)
            let took = Date().timeIntervalSince(started)
            #expect(answer.json?["status"] == "completed", "\(answer.text)")
            #expect(took < 3, "the healthy call took \(took) s while 100 requests targeted a closed port")
        }
        let late = try await HealthyPushApp(port: port)
        defer { Task { await late.stop() } }
        let lateFrom = Date()
        var notDelivered: [String] = []
        for id in ids {
            let left = max(0.5, 15 - Date().timeIntervalSince(lateFrom))
            let status = try await waitForStatus(http, id: id, within: left, until: isFinal)
            // A refused connection reached no app, so it must not count as a delivery attempt.
            if status?["status"] != "completed" || status?["attempts"] != 1 { notDelivered.append(status?.compactString ?? "\(id): unknown") }
        }
        #expect(notDelivered.isEmpty, "\(notDelivered.count) of 100 requests were not delivered once on the app's first connection, e.g. \(notDelivered.prefix(3))")
    }
}
