import Foundation
import Testing
import SyftProxyClient
import SyftProxyCore
import SyftProxyTestSupport

/// The client library against three live replicas sharing one Redis.
@Suite(.serialized) struct ClientTests {
    @Test func callsSpreadEvenlyAcrossReplicas() async throws {
        let cluster = try await Cluster.launch()
        defer { cluster.stop() }
        let app = CalculatorApp(urls: cluster.urls)
        app.start()
        let client = ProxyClient(urls: cluster.urls)
        var servedBy: [String: Int] = [:]
        for n in 0..<30 {
            let status = try await client.send(app: "calculator", function: "add", destination: "bob@example.com", params: ["a": .int(n), "b": 1], blocking: true, timeout: 10)
            #expect(try status.value() == .double(Double(n + 1)))
            servedBy[status.servedBy ?? "?", default: 0] += 1
        }
        await app.stop()
        #expect(servedBy == ["replica-1": 10, "replica-2": 10, "replica-3": 10])
    }

    @Test func everyCallSucceedsWhileAReplicaDiesAndItRejoinsAfterRestart() async throws {
        let cluster = try await Cluster.launch()
        defer { cluster.stop() }
        let app = CalculatorApp(urls: cluster.urls)
        app.start()
        let client = ProxyClient(balancer: LoadBalancer(urls: cluster.urls, baseCooldown: 0.2, maximumCooldown: 1))
        let batch = BatchProcessor(client: client, concurrency: 4)
        let calls = (0..<60).map { BatchProcessor.Call(app: "calculator", function: "multiply", destination: "bob@example.com", params: ["a": .int($0), "b": 2], timeout: 20) }
        async let results = batch.run(calls)
        try await Task.sleep(for: .milliseconds(300))
        cluster.replicas[1].kill9()
        let outcomes = await results
        for (n, outcome) in outcomes.enumerated() {
            #expect((try? outcome.get()) == .double(Double(n * 2)), "call \(n): \(outcome)")
        }

        let restarted = try await cluster.restart(1)
        defer { restarted.stop() }
        var rejoined = false
        var servedBy: [String] = []
        let deadline = Date().addingTimeInterval(20)
        while !rejoined, Date() < deadline {
            let status = try await client.send(app: "calculator", function: "add", destination: "bob@example.com", params: ["a": 1, "b": 1], blocking: true, timeout: 10)
            servedBy.append(status.servedBy ?? "?")
            rejoined = status.servedBy == "replica-2-restarted"
            if !rejoined { try await Task.sleep(for: .milliseconds(100)) }
        }
        await app.stop()
        #expect(rejoined, "the restarted replica never came back into rotation; served by \(servedBy)")
    }

    @Test func cancelledCallsLeaveTheRotationWhole() async throws {
        let cluster = try await Cluster.launch()
        defer { cluster.stop() }
        let client = ProxyClient(urls: cluster.urls)
        // Blocking calls to an app nobody serves wait until they are cancelled.
        let calls = (0..<20).map { _ in
            Task { try await client.call(app: "nobody-home", function: "f", destination: "bob@example.com", timeout: 8) }
        }
        try await Task.sleep(for: .milliseconds(500))
        for call in calls { call.cancel() }
        for call in calls {
            await #expect(throws: CancellationError.self) { try await call.value }
        }
        #expect(client.balancer.healthyURLs.count == 3, "cancellation is not a replica failure")
        let started = ContinuousClock.now
        _ = try await client.submit(app: "calculator", function: "add", destination: "bob@example.com", params: ["a": 1, "b": 2])
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func aRetriedSendRunsOnce() async throws {
        let cluster = try await Cluster.launch(replicas: 2)
        defer { cluster.stop() }
        let app = CalculatorApp(urls: [cluster.urls[1]])
        app.start()
        let lossy = try await LossyFront(forwardingTo: cluster.urls[0])
        defer { Task { await lossy.stop() } }
        // The first replica the client tries runs the call but its answer is lost (503);
        // the retry on the second replica carries the same Idempotency-Key.
        let client = ProxyClient(urls: [lossy.url, cluster.urls[1]])
        let status = try await client.send(app: "calculator", function: "add", destination: "bob@example.com", params: ["a": 20, "b": 22], blocking: true, timeout: 10)
        #expect(try status.value() == 42)
        #expect(status.servedBy == "replica-2")
        await app.stop()
        #expect(app.executionCounts == [status.id: 1])
    }

    @Test func errorsAreTyped() async throws {
        let cluster = try await Cluster.launch(replicas: 1)
        defer { cluster.stop() }
        let app = CalculatorApp(urls: cluster.urls)
        app.start()
        let client = ProxyClient(urls: cluster.urls)
        await #expect {
            try await client.call(app: "calculator", function: "divide", destination: "bob@example.com", params: ["a": 1, "b": 0], timeout: 10)
        } throws: { error in
            if case ProxyClientError.remote(_, let message) = error { return message == "division by zero" }
            return false
        }
        await #expect {
            try await client.call(app: "nobody-home", function: "f", destination: "bob@example.com", timeout: 0.5)
        } throws: { error in
            if case ProxyClientError.timeout = error { return true }
            return false
        }
        await #expect {
            try await client.call(app: "", function: "f", destination: "bob@example.com")
        } throws: { error in
            if case ProxyClientError.validation(422, _) = error { return true }
            return false
        }
        let dead = ProxyClient(urls: ["http://127.0.0.1:1"])
        await #expect {
            try await dead.status("x")
        } throws: { error in
            if case ProxyClientError.network = error { return true }
            return false
        }
        await app.stop()
    }

    @Test func pollingBroadcastBatchAndDiscovery() async throws {
        let cluster = try await Cluster.launch()
        defer { cluster.stop() }
        let app = CalculatorApp(urls: cluster.urls)
        app.start()
        let client = ProxyClient(urls: cluster.urls)
        let id = try await client.submit(app: "calculator", function: "add", destination: "bob@example.com", params: ["a": 2, "b": 3])
        #expect(try await client.waitForResult(id, timeout: 10) == 5)

        let broadcast = try await client.broadcast(function: "add", destinations: ["syft://bob@example.com/app_data/calculator/rpc/add"], params: ["a": 1, "b": 1])
        #expect(broadcast.requestIDs.count == 1)
        #expect(try await client.waitForResult(broadcast.requestIDs[0], timeout: 10) == 2)

        let results = await BatchProcessor(client: client, concurrency: 3).run((0..<10).map {
            BatchProcessor.Call(app: "calculator", function: "add", destination: "bob@example.com", params: ["a": .int($0), "b": 0], timeout: 10)
        })
        #expect(results.map { try? $0.get() } == (0..<10).map { .double(Double($0)) })

        let registry = ServiceRegistry(client: client)
        let found = try await registry.discover(["calculator", "nonexistent"])
        #expect(Array(found.keys) == ["calculator"])
        #expect(try await registry.functions(of: "calculator") == ["add", "multiply", "divide"])
        await app.stop()
    }
}
