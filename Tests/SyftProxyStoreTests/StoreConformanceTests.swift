import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// The behaviour SPEC.md asks of any store; each test runs on every store kind.
@Suite struct StoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func createStoresAPendingRequest(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(store)
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
            let requests = (0..<5).map { newRequest(store, params: ["n": .int($0)]) }
            for request in requests { _ = try await store.create([request], idempotencyKey: nil) }
            _ = try await store.create([newRequest(store, destination: "carol@example.com")], idempotencyKey: nil)
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
            let request = newRequest(store)
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
            let request = newRequest(store)
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
            let request = newRequest(store)
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
            let request = newRequest(store, timeout: 1)
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
            let request = newRequest(store, timeout: 0.1)
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
            let request = newRequest(store)
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
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 2)) { (store: any RPCStore) async throws in
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            let leased = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            try await Task.sleep(for: .milliseconds(1200))
            #expect(try await store.renewLease(id: request.id, token: try #require(leased.leaseToken)) == .renewed)
            let renewedAt = Timestamp.now()
            try await Task.sleep(for: .milliseconds(1200))
            let redelivered = try await store.sweep().redelivered
            // Past the first lease, inside the renewed one; a machine too loaded to keep inside
            // it proves nothing either way.
            if Timestamp.now() - renewedAt < 1.9 {
                #expect(redelivered == 0)
                #expect(try await store.record(id: request.id)?.state == .processing)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func releasedLeaseGoesBackWithoutCountingAnAttempt(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            let leased = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            try await store.releaseLease(id: request.id, token: try #require(leased.leaseToken))
            let again = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            #expect(again.first?.id == request.id)
            #expect(again.first?.attempts == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leasingNoneMarksTheConsumerAndLeavesTheQueue(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            #expect(try await store.hasActivePullConsumer(appName: "calculator", destination: "bob@example.com") == false)
            #expect(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 0).isEmpty)
            #expect(try await store.hasActivePullConsumer(appName: "calculator", destination: "bob@example.com"))
            #expect(try await store.record(id: request.id)?.state == .pending)
            #expect(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).map(\.id) == [request.id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func droppedLeaseGoesBackAtOnceCountingTheAttempt(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 2, leaseSeconds: 30)) { (store: any RPCStore) async throws in
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            let first = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            let firstToken = try #require(first.leaseToken)
            #expect(try await store.dropLease(id: request.id, token: firstToken + "-stale") == false)
            #expect(try await store.dropLease(id: request.id, token: firstToken))
            #expect(try await store.dropLease(id: request.id, token: firstToken) == false)
            // Back at once, no sweep needed, with the dropped delivery counted.
            let second = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            #expect(second.id == request.id)
            #expect(second.attempts == 2)
            // The second drop uses up the attempts: the request fails instead of going out a third time.
            #expect(try await store.dropLease(id: request.id, token: try #require(second.leaseToken)))
            let failed = try #require(try await store.record(id: request.id))
            #expect(failed.state == .failed)
            #expect(failed.error == FailureMessages.consumerDropped(attempts: 2))
            #expect(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).isEmpty)
            #expect(try await store.stats().leased == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deferredDeliveryStaysLeasedThenReturnsWithoutCountingAnAttempt(kind: StoreKind) async throws {
        // One attempt allowed: a deferral that counted would exhaust the request.
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 1, leaseSeconds: 30)) { (store: any RPCStore) async throws in
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            let first = try await store.leasePush(max: 10)
            #expect(first.map(\.record.id) == [request.id])
            let firstToken = try #require(first.first?.record.leaseToken)
            #expect(try await store.deferDelivery(id: request.id, token: firstToken + "-stale", by: 0.3) == false)
            // Long enough that a loaded machine still sweeps inside it.
            #expect(try await store.deferDelivery(id: request.id, token: firstToken, by: 2))
            // Leased until the deferral passes: neither another forwarder nor a sweep takes it.
            #expect(try await store.leasePush(max: 10).isEmpty)
            #expect(try await store.sweep() == SweepReport())
            #expect(try await store.record(id: request.id)?.state == .processing)
            #expect(try await store.stats().leased == 1)
            try await Task.sleep(for: .milliseconds(2200))
            #expect(try await store.sweep().redelivered == 1)
            let again = try await store.leasePush(max: 10)
            #expect(again.map(\.record.id) == [request.id])
            #expect(again.first?.record.attempts == 1)
            _ = try await store.answer(id: request.id, with: .result("done"))
            #expect(try await store.deferDelivery(id: request.id, token: try #require(again.first?.record.leaseToken), by: 0.3) == false)
            #expect(try await store.record(id: request.id)?.state == .completed)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyKeyReturnsTheFirstRequest(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let first = newRequest(store)
            let repeatRequest = newRequest(store)
            let a = try await store.create([first], idempotencyKey: idempotencyKey("key-1", for: first))
            let b = try await store.create([repeatRequest], idempotencyKey: idempotencyKey("key-1", for: repeatRequest))
            #expect(a.first == .created(try #require(try await store.record(id: first.id))))
            guard case .duplicate(let record)? = b.first else { Issue.record("repeat was created"); return }
            #expect(record.id == first.id)
            #expect(try await store.record(id: repeatRequest.id) == nil)
            let queued = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10)
            #expect(queued.map(\.id) == [first.id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func sameKeyForAnotherRequestIsRefusedAndCreatesNothing(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let first = newRequest(store)
            _ = try await store.create([first], idempotencyKey: idempotencyKey("key-2", for: first))
            let other = newRequest(store, params: ["a": 1, "b": 3])
            await #expect(throws: IdempotencyKeyReused.self) {
                _ = try await store.create([other], idempotencyKey: idempotencyKey("key-2", for: other))
            }
            #expect(try await store.record(id: other.id) == nil)
            let queued = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10)
            #expect(queued.map(\.id) == [first.id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func keysOfDifferentScopesNeverMeet(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let alice = newRequest(store)
            let bob = newRequest(store)
            let a = try await store.create([alice], idempotencyKey: idempotencyKey("key-3", for: alice, scope: "identity:alice@example.com"))
            let b = try await store.create([bob], idempotencyKey: idempotencyKey("key-3", for: bob, scope: "identity:bob@example.com"))
            #expect(a.first?.record.id == alice.id)
            guard case .created(let record)? = b.first else { Issue.record("bob's request was not created"); return }
            #expect(record.id == bob.id)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentRepeatsOfOneKeyCreateOneRequest(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let outcomes = try await withThrowingTaskGroup(of: CreateOutcome?.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let request = newRequest(store)
                        return try await store.create([request], idempotencyKey: idempotencyKey("key-20", for: request)).first
                    }
                }
                var all: [CreateOutcome] = []
                for try await outcome in group { if let outcome { all.append(outcome) } }
                return all
            }
            #expect(outcomes.count == 20)
            #expect(Set(outcomes.map(\.record.id)).count == 1)
            #expect(outcomes.filter { if case .created = $0 { true } else { false } }.count == 1)
            let queued = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 100)
            #expect(queued.count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func broadcastCreatesEveryRequestInOrder(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let requests = ["a@x.com", "b@x.com", "c@x.com"].map { newRequest(store, app: "notifier", destination: $0) }
            let outcomes = try await store.create(requests, idempotencyKey: nil)
            #expect(outcomes.map(\.record.id) == requests.map(\.id))
            for request in requests {
                let leased = try await store.leaseInbox(appName: "notifier", destination: request.destination, max: 5)
                #expect(leased.map(\.id) == [request.id])
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func broadcastRequestsShareTheirParamsAndEachReturnsThem(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 30)) { (store: any RPCStore) async throws in
            let params: JSONObject = ["message": "hello", "n": [1, 2, 3]]
            let requests = ["a@x.com", "b@x.com", "c@x.com"].map { newRequest(store, app: "notifier", destination: $0, params: params) }
            _ = try await store.create(requests, idempotencyKey: nil)
            #expect(try await store.answer(id: requests[0].id, with: .result("done")) == .accepted(try #require(try await store.record(id: requests[0].id))))
            for request in requests {
                #expect(try await store.record(id: request.id)?.params == params)
            }
            let leased = try await store.leaseInbox(appName: "notifier", destination: "b@x.com", max: 1)
            #expect(leased.first?.params == params)
            guard case .accepted(let answered) = try await store.answer(id: requests[2].id, with: .error("no")) else { Issue.record("not accepted"); return }
            #expect(answered.params == params)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func pushEndpointRoutesQueuedAndNewRequests(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let queued = newRequest(store)
            _ = try await store.create([queued], idempotencyKey: nil)
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            #expect(try await store.pushEndpoint(appName: "calculator", destination: "bob@example.com") == "http://127.0.0.1:9/rpc")
            let later = newRequest(store)
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
            let request = newRequest(store)
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
            _ = try await store.create([newRequest(store)], idempotencyKey: nil)
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
            _ = try await store.create([newRequest(store)], idempotencyKey: nil)
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
        try await kind.withStore(StoreSettings(requestTTL: 0.3, maximumAttempts: 3, leaseSeconds: 30, failedTTL: 0.3)) { (store: any RPCStore) async throws in
            let request = newRequest(store, timeout: 0.2)
            _ = try await store.create([request], idempotencyKey: nil)
            #expect(try await store.record(id: request.id) != nil)
            try await sweptAway(request.id, from: store, within: 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func recordLivesUntilItsDeadlineThenTheTTL(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 0.4, maximumAttempts: 3, leaseSeconds: 30, failedTTL: 0.4)) { (store: any RPCStore) async throws in
            let request = newRequest(store, timeout: 30)
            _ = try await store.create([request], idempotencyKey: nil)
            // Well past the TTL, long before the deadline: the request can still be answered.
            try await Task.sleep(for: .seconds(1))
            _ = try await store.sweep()
            #expect(try await store.record(id: request.id)?.state == .pending)
            #expect(try await store.answer(id: request.id, with: .result(1)) != .notFound)
            #expect(try await store.record(id: request.id)?.state == .completed)
            // Once it ended, the TTL counts from its end.
            try await sweptAway(request.id, from: store, within: 5)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyKeyLivesAsLongAsItsRequest(kind: StoreKind) async throws {
        try await kind.withStore(StoreSettings(requestTTL: 0.4, maximumAttempts: 3, leaseSeconds: 30, failedTTL: 0.4)) { (store: any RPCStore) async throws in
            let first = newRequest(store, timeout: 30)
            _ = try await store.create([first], idempotencyKey: idempotencyKey("key-ttl", for: first))
            try await Task.sleep(for: .seconds(1))
            _ = try await store.sweep()
            let repeatRequest = newRequest(store, timeout: 30)
            let repeated = try await store.create([repeatRequest], idempotencyKey: idempotencyKey("key-ttl", for: repeatRequest))
            #expect(repeated.first == .duplicate(try #require(try await store.record(id: first.id))))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func statsCountQueuesAndLeases(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            for _ in 0..<3 { _ = try await store.create([newRequest(store)], idempotencyKey: nil) }
            _ = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            let stats = try await store.stats()
            #expect(stats.queuedForPull == 2)
            #expect(stats.leased == 1)
            #expect(stats.queuedForPush == 0)
        }
    }

    /// Handing a removed pair's push work back costs each push lease a bounded number of ids;
    /// the forwarder's next leases take the rest, and the order holds throughout.
    @Test(arguments: StoreKind.allCases)
    func pushLeaseHandsBackABoundedNumberOfIDsPerCall(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            let queued = (0..<1_500).map { newRequest(store, params: ["n": .int($0)]) }
            _ = try await store.create(queued, idempotencyKey: nil)
            #expect(try await store.removePushEndpoint(appName: "calculator", destination: "bob@example.com"))
            #expect(try await store.leasePush(max: 1).isEmpty)
            #expect(try await store.stats().queuedForPush == 1_500 - 1 - QueueMaintenance.idsPerPushLease)
            for _ in 0..<10 where try await store.stats().queuedForPush > 0 { _ = try await store.leasePush(max: 1) }
            #expect(try await store.stats().queuedForPush == 0)
            let leased = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 2_000)
            #expect(leased.map(\.id) == queued.map(\.id))
        }
    }

    /// Automatic routing checks that a pair has no endpoint and registers one; an endpoint
    /// registered between the check and the registration must survive it.
    @Test(arguments: StoreKind.allCases)
    func registrationIfAbsentKeepsAnEndpointRegisteredMeanwhile(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let queued = newRequest(store)
            _ = try await store.create([queued], idempotencyKey: nil)
            #expect(try await store.pushEndpoint(appName: "calculator", destination: "bob@example.com") == nil)
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            let registered = try await store.registerPushEndpointIfAbsent(appName: "calculator", destination: "bob@example.com", url: "syft://bob@example.com/app_data/calculator/rpc")
            #expect(!registered)
            #expect(try await store.pushEndpoint(appName: "calculator", destination: "bob@example.com") == "http://127.0.0.1:9/rpc")

            let other = newRequest(store, destination: "carol@example.com")
            _ = try await store.create([other], idempotencyKey: nil)
            #expect(try await store.registerPushEndpointIfAbsent(appName: "calculator", destination: "carol@example.com", url: "syft://carol@example.com/app_data/calculator/rpc"))
            #expect(try await store.pushEndpoint(appName: "calculator", destination: "carol@example.com") == "syft://carol@example.com/app_data/calculator/rpc")
            #expect(try await store.leaseInbox(appName: "calculator", destination: "carol@example.com", max: 10).isEmpty)
            // Two pairs: first in, first out holds per pair, not across pairs (shards).
            let pushed = try await store.leasePush(max: 10).map(\.record.id)
            #expect(pushed.count == 2 && Set(pushed) == [queued.id, other.id])
        }
    }

    /// A pair nobody polls must not keep the ids of requests that ended: the sweep trims them,
    /// and the queue gauge counts only live requests.
    @Test(arguments: StoreKind.allCases)
    func sweepTrimsEndedRequestsFromQueuesNobodyPolls(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let dead = (0..<3).map { _ in newRequest(store, destination: "bob@example.com") }
            let mixed = (0..<2).map { _ in newRequest(store, destination: "carol@example.com") }
            _ = try await store.create(dead + mixed, idempotencyKey: nil)
            for request in dead + [mixed[0]] { _ = try await store.answer(id: request.id, with: .result(1)) }
            _ = try await store.sweep()
            #expect(try await store.stats().queuedForPull == 1)
            let leased = try await store.leaseInbox(appName: "calculator", destination: "carol@example.com", max: 10)
            #expect(leased.map(\.id) == [mixed[1].id])
        }
    }

    /// Removing an endpoint leaves the pair's queued push work where it is; the forwarder hands
    /// it back to pull delivery as it reaches it, each request once and in the order it came.
    @Test(arguments: StoreKind.allCases)
    func removedEndpointHandsQueuedPushWorkBackInOrder(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            try await store.registerPushEndpoint(appName: "calculator", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            let queued = (0..<3).map { newRequest(store, params: ["n": .int($0)]) }
            for request in queued { _ = try await store.create([request], idempotencyKey: nil) }
            let other = newRequest(store, destination: "carol@example.com")
            try await store.registerPushEndpoint(appName: "calculator", destination: "carol@example.com", url: "http://127.0.0.1:9/other")
            _ = try await store.create([other], idempotencyKey: nil)
            #expect(try await store.removePushEndpoint(appName: "calculator", destination: "bob@example.com"))
            let later = newRequest(store, params: ["n": 3])
            _ = try await store.create([later], idempotencyKey: nil)
            #expect(try await store.leasePush(max: 10).map(\.record.id) == [other.id])
            let leased = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10).map(\.id)
            #expect(Set(leased) == Set((queued + [later]).map(\.id)) && leased.count == 4)
            #expect(leased.filter { id in queued.contains { $0.id == id } } == queued.map(\.id))
            #expect(try await store.record(id: queued[0].id)?.attempts == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentAnswersAcceptExactlyOne(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(store)
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

/// Rate limits without the boundary burst, on every store: a full budget may be spent at
/// once, then it refills evenly; no instant lets a second budget through.
@Suite struct RateLimitConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func aSpentBudgetRefusesTheNextRequestAndRefillsEvenly(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let limit = 10
            let started = Timestamp.now()
            for n in 0..<limit {
                let decision = try await store.consumeRateLimit(key: "id:alice", cost: 1, limit: limit, window: 60)
                #expect(decision.allowed, "request \(n + 1) of \(limit)")
                #expect(decision.remaining == limit - n - 1)
            }
            let refused = try await store.consumeRateLimit(key: "id:alice", cost: 1, limit: limit, window: 60)
            let elapsed = Timestamp.now() - started
            #expect(!refused.allowed)
            #expect(refused.remaining == 0)
            // One request comes back every 60 / 10 = 6 s after the first was counted, not the
            // whole budget at a boundary.
            #expect(refused.resetAfter > 6 - elapsed - 0.05 && refused.resetAfter <= 6, "\(refused.resetAfter) after \(elapsed) s")
            let allowed = try await store.consumeRateLimit(key: "id:bob", cost: 1, limit: limit, window: 60)
            #expect(allowed.resetAfter > 5.9 && allowed.resetAfter <= 6, "until full: \(allowed.resetAfter)")
            // A cost over the whole budget never fits; it waits for a full budget and consumes nothing.
            let huge = try await store.consumeRateLimit(key: "id:carol", cost: limit + 1, limit: limit, window: 60)
            #expect(!huge.allowed && huge.remaining == limit)
            #expect(try await store.consumeRateLimit(key: "id:carol", cost: limit, limit: limit, window: 60).allowed)
        }
    }

    /// Spend the budget just before a fixed-window boundary (a 2 s window, so the test is
    /// short), then keep asking across the boundary: a fixed window hands out a second full
    /// budget there; the even refill allows only what the elapsed time earned.
    @Test(arguments: StoreKind.allCases)
    func noInstantLetsASecondBudgetThrough(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let limit = 20, window = 2.0
            // 0.3 s before a multiple of the window (the boundary of a window counted from the epoch).
            let now = Timestamp.now()
            let boundary = ((now / window).rounded(.down) + 1) * window
            var wait = boundary - 0.3 - now
            if wait < 0 { wait += window }
            try await Task.sleep(for: .milliseconds(Int(wait * 1000)))
            let start = Timestamp.now()
            var allowed: [Double] = []
            for _ in 0..<limit {
                if try await store.consumeRateLimit(key: "ip:10.0.0.1", cost: 1, limit: limit, window: window).allowed { allowed.append(Timestamp.now()) }
            }
            #expect(allowed.count == limit)
            // Across the boundary and 0.6 s past it.
            while Timestamp.now() < start + 0.9 {
                if try await store.consumeRateLimit(key: "ip:10.0.0.1", cost: 1, limit: limit, window: window).allowed { allowed.append(Timestamp.now()) }
                try await Task.sleep(for: .milliseconds(10))
            }
            let elapsed = Timestamp.now() - start
            let earned = Int((elapsed / (window / Double(limit))).rounded(.up)) + 1
            #expect(allowed.count - limit <= earned, "\(allowed.count - limit) allowed after the budget within \(elapsed) s; at most \(earned) earned")
            // Within any window, fewer than two budgets.
            for (index, time) in allowed.enumerated() {
                let inWindow = allowed[index...].prefix { $0 < time + window }.count
                #expect(inWindow < 2 * limit)
            }
        }
    }
}

/// Waits until the request's record is gone, sweeping meanwhile; throws after `seconds`.
func sweptAway(_ id: String, from store: any RPCStore, within seconds: Double) async throws {
    try await eventually("the sweep drops the record \(id)", within: seconds) {
        _ = try await store.sweep()
        return try await store.record(id: id) == nil
    }
}
