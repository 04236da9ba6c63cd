import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// The operator console's store methods, on every store kind.
@Suite struct AdminStoreConformanceTests {
    /// Every page of `query`, followed to the end.
    static func allPages(_ store: any RPCStore, _ query: AdminQuery) async throws -> (items: [AdminRecord], pages: Int) {
        var query = query
        var items: [AdminRecord] = []
        var pages = 0
        while true {
            let page = try await store.adminRequests(query)
            pages += 1
            items += page.items
            guard let next = page.nextCursor, pages < 1000 else { break }
            query.cursor = next
        }
        return (items, pages)
    }

    @Test(arguments: StoreKind.allCases)
    func pagesListEveryRequestOnceNewestFirstAcrossShards(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            var created: [String] = []
            // Many pairs, so the requests fall in many shards.
            for index in 0..<25 {
                let request = newRequest(store, app: "app\(index % 7)", destination: "user\(index)@example.com")
                _ = try await store.create([request], idempotencyKey: nil)
                created.append(request.id)
            }
            // A broadcast on one pair: one create, one timestamp for all of them.
            let group = (0..<12).map { _ in newRequest(store, app: "fan", destination: "bob@example.com") }
            _ = try await store.create(group, idempotencyKey: nil)
            let (items, pages) = try await Self.allPages(store, AdminQuery(limit: 10))
            let listed = items.map(\.record.id)
            #expect(listed.count == 37)
            #expect(Set(listed).count == 37, "a request was listed twice")
            #expect(Set(listed) == Set(created + group.map(\.id)))
            #expect(pages >= 4)
            // Newest first: the broadcast (created last) leads, the first single request ends the list.
            #expect(Set(listed.prefix(12)) == Set(group.map(\.id)))
            #expect(Array(listed.suffix(25)) == created.reversed())
            let createdTimes = items.map(\.record.createdAt)
            #expect(createdTimes == createdTimes.sorted(by: >))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func filtersSelectByStateAppDestinationAndSender(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let a = newRequest(store, app: "alpha")
            let b = newRequest(store, app: "beta", destination: "carol@example.com")
            _ = try await store.create([a], idempotencyKey: nil)
            _ = try await store.create([b], idempotencyKey: nil)
            _ = try await store.answer(id: a.id, with: .result(1))
            let byApp = try await Self.allPages(store, AdminQuery(appName: "beta", limit: 5)).items
            #expect(byApp.map(\.record.id) == [b.id])
            let completed = try await Self.allPages(store, AdminQuery(state: .completed, limit: 5)).items
            #expect(completed.map(\.record.id) == [a.id])
            let byDestination = try await Self.allPages(store, AdminQuery(destination: "carol@example.com", limit: 5)).items
            #expect(byDestination.map(\.record.id) == [b.id])
            #expect(try await Self.allPages(store, AdminQuery(sender: "nobody@example.com", limit: 5)).items.isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theTimelineRecordsLeasesWithTheirHolderAndEachOutcome(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(store)
            _ = try await store.create([request], idempotencyKey: nil)
            let first = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            #expect(try await store.releaseLease(id: request.id, token: try #require(first.leaseToken)))
            let second = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1, consumer: .webSocket).first)
            #expect(try await store.deferDelivery(id: request.id, token: try #require(second.leaseToken), by: 5))
            _ = try await store.answer(id: request.id, with: .result(["sum": 3]))
            let found = try #require(try await store.adminRequest(id: request.id))
            #expect(found.timeline.map(\.kind) == [.created, .leased, .released, .leased, .deferred, .completed])
            #expect(found.timeline[1].detail.contains(TimelineHolders.pull))
            #expect(found.timeline[1].detail.contains("attempt 1"))
            #expect(found.timeline[3].detail.contains(TimelineHolders.webSocket("")))
            #expect(found.failure == nil)
            let times = found.timeline.map(\.at)
            #expect(times == times.sorted())
            #expect(try await store.adminRequest(id: "missing") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func cancelFailsAnOpenRequestWakesItsWaiterAndRefusesALateAnswer(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(store, timeout: 20)
            _ = try await store.create([request], idempotencyKey: nil)
            let leased = try #require(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1).first)
            async let waited = store.waitForFinal(id: request.id, until: Timestamp.now() + 15)
            try await Task.sleep(for: .milliseconds(100))
            let started = Timestamp.now()
            guard case .done(let cancelled) = try await store.cancel(id: request.id, as: .cancelled, message: FailureMessages.cancelled) else {
                Issue.record("not cancelled"); return
            }
            #expect(cancelled.state == .failed)
            #expect(cancelled.error == FailureMessages.cancelled)
            let woken = try await waited
            #expect(woken?.state == .failed)
            #expect(Timestamp.now() - started < 3, "the waiter was not woken at once")
            guard case .alreadyFinal = try await store.answer(id: request.id, with: .result(1), leaseToken: leased.leaseToken) else {
                Issue.record("a late answer was taken"); return
            }
            guard case .notApplicable = try await store.cancel(id: request.id, as: .cancelled, message: FailureMessages.cancelled) else {
                Issue.record("a final request was cancelled again"); return
            }
            #expect(try await store.cancel(id: "missing", as: .cancelled, message: "x") == .notFound)
            #expect(try await store.adminRequest(id: request.id)?.failure == .cancelled)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deadLettersCarryTheirReasonClass(kind: StoreKind) async throws {
        let settings = StoreSettings(requestTTL: 60, maximumAttempts: 1, leaseSeconds: 0.2, failedTTL: 120)
        try await kind.withStore(settings) { (store: any RPCStore) async throws in
            let appError = newRequest(store, app: "a1")
            let undeliverable = newRequest(store, app: "a2")
            let timedOut = newRequest(store, app: "a3", timeout: 0.2)
            let exhausted = newRequest(store, app: "a4")
            let cancelled = newRequest(store, app: "a5")
            let purged = newRequest(store, app: "a6")
            let untouched = newRequest(store, app: "a7")
            for request in [appError, undeliverable, timedOut, exhausted, cancelled, purged, untouched] {
                _ = try await store.create([request], idempotencyKey: nil)
            }
            _ = try await store.answer(id: appError.id, with: .error("division by zero"))
            _ = try await store.answer(id: undeliverable.id, with: .undeliverable("push URL denied"))
            _ = try await store.leaseInbox(appName: "a4", destination: "bob@example.com", max: 1)
            _ = try await store.cancel(id: cancelled.id, as: .cancelled, message: FailureMessages.cancelled)
            #expect(try await store.purgeQueue(appName: "a6", destination: "bob@example.com", message: FailureMessages.purged) == (1, 0))
            try await Task.sleep(for: .milliseconds(400))
            _ = try await store.sweep()
            let failed = try await Self.allPages(store, AdminQuery(index: .failed, limit: 3)).items
            let classes = Dictionary(uniqueKeysWithValues: failed.map { ($0.record.id, $0.failure) })
            #expect(classes.count == 6)
            #expect(classes[appError.id] == .appError)
            #expect(classes[undeliverable.id] == .undeliverable)
            #expect(classes[timedOut.id] == .timedOut)
            #expect(classes[exhausted.id] == .attemptsExhausted)
            #expect(classes[cancelled.id] == .cancelled)
            #expect(classes[purged.id] == .purged)
            #expect(classes[untouched.id] == nil)
            #expect(try await store.record(id: purged.id)?.error == FailureMessages.purged)
            // By failure time, newest first: the sweep's two come after the others.
            let times = failed.map { $0.record.completedAt ?? 0 }
            #expect(times == times.sorted(by: >))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func retryQueuesAFailedRequestAgainWithAFreshDeadline(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let request = newRequest(store, timeout: 30)
            _ = try await store.create([request], idempotencyKey: nil)
            _ = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1)
            _ = try await store.answer(id: request.id, with: .error("boom"))
            let failedAt = try #require(try await store.record(id: request.id))
            try await Task.sleep(for: .milliseconds(50))
            guard case .done(let retried) = try await store.retry(id: request.id) else { Issue.record("not retried"); return }
            #expect(retried.state == .pending)
            #expect(retried.attempts == 0)
            #expect(retried.error == nil)
            #expect(retried.deadline > failedAt.deadline)
            #expect(try await store.adminRequests(AdminQuery(index: .failed)).items.isEmpty)
            let leased = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 5)
            #expect(leased.map(\.id) == [request.id])
            #expect(leased.first?.attempts == 1)
            let timeline = try #require(try await store.adminRequest(id: request.id)).timeline.map(\.kind)
            #expect(timeline == [.created, .leased, .failed, .retried, .leased])
            guard case .notApplicable = try await store.retry(id: request.id) else { Issue.record("an open request was retried"); return }
            #expect(try await store.retry(id: "missing") == .notFound)
            _ = try await store.answer(id: request.id, with: .result(7))
            #expect(try await store.record(id: request.id)?.result == 7)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deleteRemovesADeadLetterOnly(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let failed = newRequest(store)
            let open = newRequest(store)
            _ = try await store.create([failed], idempotencyKey: nil)
            _ = try await store.create([open], idempotencyKey: nil)
            _ = try await store.answer(id: failed.id, with: .error("boom"))
            guard case .done = try await store.deleteFailed(id: failed.id) else { Issue.record("not deleted"); return }
            #expect(try await store.record(id: failed.id) == nil)
            #expect(try await store.adminRequests(AdminQuery(index: .failed)).items.isEmpty)
            guard case .notApplicable = try await store.deleteFailed(id: open.id) else { Issue.record("an open request was deleted"); return }
            #expect(try await store.deleteFailed(id: failed.id) == .notFound)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func queuesShowDepthAndAgeAndPurgeFailsTheQueued(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            let queued = (0..<3).map { _ in newRequest(store, app: "busy") }
            for request in queued { _ = try await store.create([request], idempotencyKey: nil) }
            _ = try await store.create([newRequest(store, app: "quiet", destination: "carol@example.com")], idempotencyKey: nil)
            try await store.registerPushEndpoint(appName: "pushed", destination: "dave@example.com", url: "http://127.0.0.1:9/x")
            _ = try await store.create([newRequest(store, app: "pushed", destination: "dave@example.com")], idempotencyKey: nil)
            try await Task.sleep(for: .milliseconds(100))
            let queues = try await store.queues()
            let busy = try #require(queues.first { $0.appName == "busy" })
            #expect(busy.mode == .pull && busy.depth == 3 && busy.destination == "bob@example.com")
            #expect((busy.oldestCreatedAt ?? 0) <= Timestamp.now() - 0.05)
            #expect(queues.first { $0.appName == "quiet" }?.depth == 1)
            #expect(queues.filter { $0.mode == .push }.map(\.depth).reduce(0, +) == 1)
            let purged = try await store.purgeQueue(appName: "busy", destination: "bob@example.com", message: FailureMessages.purged)
            #expect(purged == (3, 0))
            for request in queued {
                let found = try #require(try await store.adminRequest(id: request.id))
                #expect(found.record.state == .failed && found.failure == .purged)
            }
            #expect(try await store.leaseInbox(appName: "busy", destination: "bob@example.com", max: 10).isEmpty)
            // The push pair's work is purged off the push list too; the forwarder skips it.
            #expect(try await store.purgeQueue(appName: "pushed", destination: "dave@example.com", message: FailureMessages.purged).purged == 1)
            #expect(try await store.leasePush(max: 10).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func heartbeatsListEveryLiveReplica(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            for id in ["r1", "r2"] {
                try await store.publishHeartbeat(ReplicaHeartbeat(
                    id: id, version: "1", address: "127.0.0.1:1", startedAt: 1, inFlight: 2, roundTripsPerSecond: 3.5, p50Seconds: 0.01, p99Seconds: nil))
            }
            let replicas = try await store.replicas()
            #expect(replicas.map(\.id) == ["r1", "r2"])
            #expect(replicas.allSatisfy { abs($0.lastSeen - Timestamp.now()) < 5 })
            #expect(replicas.first?.roundTripsPerSecond == 3.5)
            #expect(replicas.first?.p50Seconds == 0.01)
            #expect(replicas.first?.p99Seconds == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func entriesOfExpiredRecordsAreSkipped(kind: StoreKind) async throws {
        let settings = StoreSettings(requestTTL: 1, maximumAttempts: 3, leaseSeconds: 30, failedTTL: 1)
        try await kind.withStore(settings) { (store: any RPCStore) async throws in
            let gone = newRequest(store, timeout: 0.1)
            _ = try await store.create([gone], idempotencyKey: nil)
            _ = try await store.answer(id: gone.id, with: .error("boom"))
            try await Task.sleep(for: .milliseconds(1500))
            _ = try await store.sweep()
            let kept = newRequest(store)
            _ = try await store.create([kept], idempotencyKey: nil)
            #expect(try await Self.allPages(store, AdminQuery(limit: 5)).items.map(\.record.id) == [kept.id])
            #expect(try await store.adminRequests(AdminQuery(index: .failed)).items.isEmpty)
        }
    }
}

@Suite struct EndpointStoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func endpointsListPushURLsPullConsumersAndMergedHealth(kind: StoreKind) async throws {
        try await kind.withStore { (store: any RPCStore) async throws in
            try await store.registerPushEndpoint(appName: "pushed", destination: "bob@example.com", url: "http://127.0.0.1:9/rpc")
            try await store.registerPushEndpoint(appName: "files", destination: "carol@example.com", url: "syft://carol@example.com/app_data/files/rpc")
            _ = try await store.leaseInbox(appName: "polled", destination: "dave@example.com", max: 1)
            let now = Timestamp.now()
            var first = EndpointHealthReport(appName: "pushed", destination: "bob@example.com")
            first.failed(at: now - 3, "refused")
            first.failed(at: now - 2, "refused")
            // A report for a pair with no endpoint is dropped.
            var stray = EndpointHealthReport(appName: "polled", destination: "dave@example.com")
            stray.failed(at: now, "x")
            try await store.recordEndpointHealth([first, stray])
            var second = EndpointHealthReport(appName: "pushed", destination: "bob@example.com")
            second.failed(at: now - 1, "HTTP 500")
            try await store.recordEndpointHealth([second])

            let listed = try await store.endpoints()
            #expect(listed.map(\.appName) == ["files", "polled", "pushed"])
            let pushed = try #require(listed.first { $0.appName == "pushed" })
            #expect(pushed.pushURL == "http://127.0.0.1:9/rpc")
            #expect(pushed.health?.consecutiveFailures == 3)
            #expect(pushed.health?.lastErrorMessage == "HTTP 500")
            #expect(pushed.health?.lastSuccess == nil)
            #expect(abs((pushed.health?.lastError ?? 0) - (now - 1)) < 0.01)
            let polled = try #require(listed.first { $0.appName == "polled" })
            #expect(polled.pushURL == nil && polled.health == nil)
            #expect(abs((polled.pullConsumerSeen ?? 0) - now) < 5)
            #expect(listed.first { $0.appName == "files" }?.pushURL?.hasPrefix("syft://") == true)

            var recovered = EndpointHealthReport(appName: "pushed", destination: "bob@example.com")
            recovered.failed(at: now, "refused")
            recovered.succeeded(at: now + 0.5)
            try await store.recordEndpointHealth([recovered])
            let healthy = try #require(try await store.endpoints().first { $0.appName == "pushed" }?.health)
            #expect(healthy.consecutiveFailures == 0)
            #expect(healthy.lastSuccess != nil)

            #expect(try await store.removePushEndpoint(appName: "pushed", destination: "bob@example.com"))
            #expect(try await store.endpoints().map(\.appName) == ["files", "polled"])
        }
    }
}
