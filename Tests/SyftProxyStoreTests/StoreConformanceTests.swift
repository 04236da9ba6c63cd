import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// The behaviour SPEC.md asks of any store; each test runs on every store kind.
@Suite struct StoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func createStoresAPendingRequest(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest()
            let outcome = try await store.create([request], idempotencyKey: nil)
            guard case .created(let record)? = outcome.first else { Issue.record("not created"); return }
            #expect(record.state == .pending)
            #expect(record.attempts == 0)
            let read = try #require(try await store.record(id: request.id))
            #expect(read.appName == "calculator")
            #expect(read.params["b"]?.intValue == 2)
            #expect(read.headers == ["X-Trace": "t"])
            #expect(read.sender == "alice@example.com")
            #expect(abs(read.deadline - read.createdAt - 30) < 0.01)
            #expect(try await store.record(id: "missing") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func inboxLeasesOldestFirstAndOnlyOnce(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let requests = (0..<5).map { newRequest(params: ["n": .int($0)]) }
            for request in requests { _ = try await store.create([request], idempotencyKey: nil) }
            _ = try await store.create([newRequest(destination: "carol@example.com")], idempotencyKey: nil)
            let first = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 3)
            #expect(first.map(\.id) == requests[0..<3].map(\.id))
            #expect(first.allSatisfy { $0.state == .processing && $0.attempts == 1 })
            let second = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10)
            #expect(second.map(\.id) == requests[3...].map(\.id))
            #expect(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10).isEmpty)
            #expect(try await store.record(id: requests[0].id)?.state == .processing)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func answerCompletesOnceAndRefusesASecond(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            guard case .accepted(let record) = try await store.answer(id: request.id, with: .result(["sum": 3])) else {
                Issue.record("answer not accepted"); return
            }
            #expect(record.state == .completed)
            #expect(record.result == ["sum": 3])
            #expect(record.completedAt != nil)
            guard case .alreadyFinal(let final) = try await store.answer(id: request.id, with: .error("late")) else {
                Issue.record("second answer accepted"); return
            }
            #expect(final.state == .completed)
            #expect(try await store.record(id: request.id)?.result == ["sum": 3])
            #expect(try await store.answer(id: "missing", with: .result(1)) == .notFound)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func errorAnswerFailsTheRequest(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            _ = try await store.answer(id: request.id, with: .error("division by zero"))
            let record = try #require(try await store.record(id: request.id))
            #expect(record.state == .failed)
            #expect(record.error == "division by zero")
            #expect(!record.timedOut)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func waiterWakesAsSoonAsTheAnswerLands(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            async let waited = store.waitForFinal(id: request.id, until: Timestamp.now() + 10)
            try await Task.sleep(for: .milliseconds(50))
            let answeredAt = Timestamp.now()
            _ = try await store.answer(id: request.id, with: .result("done"))
            let record = try await waited
            #expect(record?.state == .completed)
            #expect(Timestamp.now() - answeredAt < 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func waiterReturnsAtItsDeadlineAndTheRequestTimesOut(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(timeout: 1)
            let created = Timestamp.now()
            _ = try await store.create([request], idempotencyKey: nil)
            let record = try await store.waitForFinal(id: request.id, until: Timestamp.now() + 0.2)
            // On a loaded machine the whole second may already be gone; then it has timed out.
            if Timestamp.now() - created < 0.9 { #expect(record?.state == .pending) }
            try await Task.sleep(for: .milliseconds(1000))
            let expired = try #require(try await store.expireIfOverdue(id: request.id))
            #expect(expired.state == .failed)
            #expect(expired.timedOut)
            #expect(expired.error?.contains("timed out") == true)
            guard case .alreadyFinal = try await store.answer(id: request.id, with: .result(1)) else {
                Issue.record("an answer after the timeout was accepted"); return
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func sweepFailsOverdueRequests(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(timeout: 0.1)
            _ = try await store.create([request], idempotencyKey: nil)
            try await Task.sleep(for: .milliseconds(200))
            let report = try await store.sweep()
            #expect(report.timedOut == 1)
            #expect(try await store.record(id: request.id)?.timedOut == true)
            #expect(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func expiredLeasesAreRedeliveredThenFail(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 2, leaseSeconds: 0.2)) { (store: any RPCStore) async throws in
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            let first = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            #expect(first.first?.attempts == 1)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await store.sweep().redelivered == 1)
            #expect(try await store.record(id: request.id)?.state == .pending)
            let second = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            #expect(second.first?.id == request.id)
            #expect(second.first?.attempts == 2)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await store.sweep().exhausted == 1)
            let record = try #require(try await store.record(id: request.id))
            #expect(record.state == .failed)
            #expect(record.error?.contains("2 deliveries") == true)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func renewedLeaseIsNotRedelivered(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 1)) { (store: any RPCStore) async throws in
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            _ = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await store.renewLease(id: request.id))
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await store.sweep().redelivered == 0)
            #expect(try await store.record(id: request.id)?.state == .processing)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func releasedLeaseGoesBackWithoutCountingAnAttempt(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            _ = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            try await store.releaseLease(id: request.id)
            let again = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            #expect(again.first?.id == request.id)
            #expect(again.first?.attempts == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deferredDeliveryStaysLeasedThenReturnsWithoutCountingAnAttempt(kind: StoreKind) async throws {
        // One attempt allowed: a deferral that counted would exhaust the request.
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 1, leaseSeconds: 30)) { (store: any RPCStore) async throws in
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            let first = try await store.leasePush(max: 10)
            #expect(first.map(\.record.id) == [request.id])
            #expect(try await store.deferDelivery(id: request.id, token: nil, by: 0.3))
            // Leased until the deferral passes: neither another forwarder nor a sweep takes it.
            #expect(try await store.leasePush(max: 10).isEmpty)
            #expect(try await store.sweep() == SweepReport())
            #expect(try await store.record(id: request.id)?.state == .processing)
            #expect(try await store.stats().leased == 1)
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await store.sweep().redelivered == 1)
            let again = try await store.leasePush(max: 10)
            #expect(again.map(\.record.id) == [request.id])
            #expect(again.first?.record.attempts == 1)
            _ = try await store.answer(id: request.id, with: .result("done"))
            #expect(try await store.deferDelivery(id: request.id, token: nil, by: 0.3) == false)
            #expect(try await store.record(id: request.id)?.state == .completed)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyKeyReturnsTheFirstRequest(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let first = newRequest()
            let repeatRequest = newRequest()
            let a = try await store.create([first], idempotencyKey: "key-1")
            let b = try await store.create([repeatRequest], idempotencyKey: "key-1")
            #expect(a.first == .created(try #require(try await store.record(id: first.id))))
            guard case .duplicate(let record)? = b.first else { Issue.record("repeat was created"); return }
            #expect(record.id == first.id)
            #expect(try await store.record(id: repeatRequest.id) == nil)
            let queued = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10)
            #expect(queued.map(\.id) == [first.id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func broadcastCreatesEveryRequestInOrder(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let requests = ["a@x.com", "b@x.com", "c@x.com"].map { newRequest(app: "notifier", destination: $0) }
            let outcomes = try await store.create(requests, idempotencyKey: nil)
            #expect(outcomes.map(\.record.id) == requests.map(\.id))
            for request in requests {
                let leased = try await store.leaseInbox(appName: "notifier", destination: request.destination, max: 5)
                #expect(leased.map(\.id) == [request.id])
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func pushEndpointRoutesQueuedAndNewRequests(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let queued = newRequest()
            _ = try await store.create([queued], idempotencyKey: nil)
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            #expect(try await store.pushEndpoint(appName: "calculator", destination: "bob@example.com") == "http://127.0.0.1:9/rpc")
            let later = newRequest()
            _ = try await store.create([later], idempotencyKey: nil)
            #expect(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10).isEmpty)
            let pushed = try await store.leasePush(max: 10)
            #expect(pushed.map(\.record.id) == [queued.id, later.id])
            #expect(pushed.allSatisfy { $0.url == "http://127.0.0.1:9/rpc" && $0.record.attempts == 1 })
        }
    }

    @Test(arguments: StoreKind.allCases)
    func removingTheEndpointReturnsWorkToPull(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            #expect(try await store.removePushEndpoint(appName: "calculator", destination: "bob@example.com"))
            #expect(try await store.removePushEndpoint(appName: "calculator", destination: "bob@example.com") == false)
            #expect(try await store.leasePush(max: 10).isEmpty)
            let leased = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10)
            #expect(leased.map(\.id) == [request.id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func inboxWaiterWakesWhenWorkArrives(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let started = Timestamp.now()
            async let woke: Void = store.waitForInbox(appName: "calculator", destination: "bob@example.com", until: started + 10)
            try await Task.sleep(for: .milliseconds(50))
            _ = try await store.create([newRequest()], idempotencyKey: nil)
            try await woke
            #expect(Timestamp.now() - started < 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func pushWaiterWakesWhenWorkArrives(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            let started = Timestamp.now()
            async let woke: Void = store.waitForPushWork(until: started + 10)
            try await Task.sleep(for: .milliseconds(50))
            _ = try await store.create([newRequest()], idempotencyKey: nil)
            try await woke
            #expect(Timestamp.now() - started < 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func schemaBelongsToItsFirstPublisher(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            #expect(try await store.schema(appName: "calculator") == nil)
            let schema: JSONValue = ["app_name": "calculator", "functions": ["add": ["params": ["a": "number"], "returns": "number"]]]
            #expect(try await store.publishSchema(appName: "calculator", schema: schema, owner: "bob@example.com") == .stored)
            #expect(try await store.schema(appName: "calculator") == schema)
            #expect(try await store.publishSchema(appName: "calculator", schema: ["functions": [:]], owner: "eve@example.com") == .ownedByAnother(owner: "bob@example.com"))
            #expect(try await store.publishSchema(appName: "calculator", schema: ["functions": [:]], owner: "bob@example.com") == .stored)
            #expect(try await store.schema(appName: "calculator") == ["functions": [:]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func recordsExpireAfterTheirTTL(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 0.3, maximumAttempts: 3, leaseSeconds: 30)) { (store: any RPCStore) async throws in
            let request = newRequest(timeout: 0.2)
            _ = try await store.create([request], idempotencyKey: nil)
            #expect(try await store.record(id: request.id) != nil)
            let gone = try await eventually(within: 3) {
                _ = try await store.sweep()
                return try await store.record(id: request.id) == nil
            }
            #expect(gone)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func statsCountQueuesAndLeases(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            for _ in 0..<3 { _ = try await store.create([newRequest()], idempotencyKey: nil) }
            _ = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            let stats = try await store.stats()
            #expect(stats.queuedForPull == 2)
            #expect(stats.leased == 1)
            #expect(stats.queuedForPush == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentAnswersAcceptExactlyOne(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest()
            _ = try await store.create([request], idempotencyKey: nil)
            let accepted = await withTaskGroup(of: Bool.self) { group in
                for n in 0..<50 {
                    group.addTask {
                        if case .accepted = try? await store.answer(id: request.id, with: .result(.int(n))) { return true }
                        return false
                    }
                }
                var count = 0
                for await ok in group where ok { count += 1 }
                return count
            }
            #expect(accepted == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func rateLimitCountsPerKeyAndRefusesWithoutConsuming(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let first = try await store.consumeRateLimit(key: "id:alice", cost: 2, limit: 3, window: 60)
            #expect(first.allowed && first.remaining == 1)
            #expect(first.resetAfter > 0 && first.resetAfter <= 60)
            let refused = try await store.consumeRateLimit(key: "id:alice", cost: 2, limit: 3, window: 60)
            #expect(!refused.allowed && refused.remaining == 1)
            let last = try await store.consumeRateLimit(key: "id:alice", cost: 1, limit: 3, window: 60)
            #expect(last.allowed && last.remaining == 0)
            #expect(try await store.consumeRateLimit(key: "id:bob", cost: 3, limit: 3, window: 60).allowed)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func inboxPollMarksThePairAsServedByAPullConsumer(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            #expect(try await store.hasActivePullConsumer(appName: "calculator", destination: "bob@example.com") == false)
            _ = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            #expect(try await store.hasActivePullConsumer(appName: "calculator", destination: "bob@example.com"))
            #expect(try await store.hasActivePullConsumer(appName: "calculator", destination: "carol@example.com") == false)
            #expect(try await store.hasActivePullConsumer(appName: "calc", destination: "bob@example.com") == false)
        }
    }
}
