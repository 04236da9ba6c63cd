import Testing
@testable import SyftProxyCore

@Suite struct SupportTests {
    @Test func formatsISO8601InUTCWithMicroseconds() {
        #expect(Timestamp.iso8601(0) == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp.iso8601(1_764_056_000.25) == "2025-11-25T07:33:20.250000Z")
        #expect(Timestamp.iso8601(1.9999999) == "1970-01-01T00:00:02.000000Z")
    }

    @Test func traceparentContinuesTheCallersTrace() throws {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let child = TraceParent.child(of: parent)
        let parts = try #require(TraceParent.parse(child))
        #expect(parts.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(parts.spanID != "00f067aa0ba902b7")
        #expect(parts.flags == "01")
        #expect(TraceParent.parse(TraceParent.child(of: "garbage")) != nil)
        #expect(TraceParent.parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01") == nil)
    }

    @Test func wakeupRegistryDeliversASignalSentBeforeTheWait() async {
        let registry = WakeupRegistry<String>()
        let ticket = registry.register("a")
        registry.signal("a")
        let signaled = await registry.wait(ticket, until: Timestamp.now() + 5)
        #expect(signaled)
        registry.unregister(ticket)
        #expect(registry.waiterCount == 0)
    }

    @Test func wakeupRegistryHandsOverAPayloadThatALaterPlainSignalKeeps() async {
        let registry = WakeupRegistry<String>()
        let ticket = registry.register("a")
        registry.signal("a", payload: 42)
        registry.signal("a")
        let signal = await registry.waitForSignal(ticket, until: Timestamp.now() + 5)
        #expect(signal?.payload as? Int == 42)
        registry.signal("a")
        let plain = await registry.waitForSignal(ticket, until: Timestamp.now() + 5)
        #expect(plain != nil && plain?.payload == nil)
        registry.unregister(ticket)
    }

    @Test func wakeupRegistrySignalOneWakesTheOldestWaiterNotYetWoken() async {
        let registry = WakeupRegistry<String>()
        let first = registry.register("q")
        let second = registry.register("q")
        let third = registry.register("q")
        let other = registry.register("other")
        registry.signalOne("q")
        registry.signalOne("q")
        #expect(await registry.wait(first, until: Timestamp.now() + 5))
        #expect(await registry.wait(second, until: Timestamp.now() + 5))
        registry.unregister(first)
        registry.unregister(second)
        #expect(await registry.wait(third, until: Timestamp.now() + 0.05) == false)
        #expect(await registry.wait(other, until: Timestamp.now() + 0.05) == false)
        // A waiter already suspended is woken as well as an armed one.
        let woken = Task { await registry.wait(third, until: Timestamp.now() + 5) }
        try? await Task.sleep(for: .milliseconds(50))
        registry.signalOne("q")
        #expect(await woken.value)
        for ticket in [third, other] { registry.unregister(ticket) }
        registry.signalOne("q")
        #expect(registry.waiterCount == 0)
    }

    @Test func wakeupRegistryTimesOut() async {
        let registry = WakeupRegistry<String>()
        let ticket = registry.register("a")
        let started = Timestamp.now()
        let signaled = await registry.wait(ticket, until: started + 0.1)
        #expect(!signaled)
        #expect(Timestamp.now() - started < 2)
        registry.unregister(ticket)
    }

    @Test func wakeupRegistryWakesManyWaiters() async {
        let registry = WakeupRegistry<Int>()
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                let ticket = registry.register(7)
                group.addTask {
                    defer { registry.unregister(ticket) }
                    return await registry.wait(ticket, until: Timestamp.now() + 10)
                }
            }
            try? await Task.sleep(for: .milliseconds(50))
            registry.signal(7)
            var woken = 0
            for await signaled in group where signaled { woken += 1 }
            #expect(woken == 200)
        }
        #expect(registry.waiterCount == 0)
    }
}
