import Synchronization
import Foundation
import Testing
import SyftProxyCore
@testable import SyftProxyServer

@Suite struct PushPolicyTests {
    @Test func networksMatchTheirAddressesInEverySpelling() throws {
        let linkLocal = try #require(IPNetwork("169.254.0.0/16"))
        #expect(linkLocal.description == "169.254.0.0/16")
        for host in ["169.254.169.254", "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]", "2852039166", "0251.0376.0251.0376", "0xa9fea9fe", "169.254.43518", "169.254.169.254.."] {
            let address = try #require(IPAddress(urlHost: host), "\(host) is an address")
            #expect(linkLocal.contains(address), "\(host)")
            #expect(address.description == "169.254.169.254")
        }
        #expect(IPAddress(urlHost: "metadata.google.internal") == nil)
        #expect(IPAddress(urlHost: "cafe") == nil)
        #expect(IPAddress(urlHost: "1.2.3.4 x") == nil)
        let v6 = try #require(IPNetwork("fd00:ec2::254"))
        #expect(v6.description == "fd00:ec2::254/128")
        #expect(v6.contains(try #require(IPAddress(urlHost: "[FD00:0EC2:0000::0254]"))))
        #expect(!v6.contains(try #require(IPAddress(urlHost: "[fd00:ec2::255]"))))
        // An IPv4 network never matches a plain IPv6 address that happens to share bits.
        #expect(!(try #require(IPNetwork("0.0.0.0/0"))).contains(try #require(IPAddress(urlHost: "[2001:db8::1]"))))
        // IPv6 networks hold IPv6 addresses; an IPv4 address (also when spelled mapped) is
        // matched by IPv4 networks.
        #expect(!(try #require(IPNetwork("::/0"))).contains(try #require(IPAddress(urlHost: "10.0.0.1"))))
    }

    @Test func malformedNetworksAreConfigurationErrors() {
        for bad in ["10.0.0.0/33", "10.0.0/8", "::1/129", "fe80::/x", "10.0.0.0/8/8", "example.com", "10.0.0.0/-1", "10.0.0.0/+8"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try ProxyConfiguration(environment: ["PROXY_PUSH_DENY_NETWORKS": bad]) }
        }
        let configuration = try? ProxyConfiguration(environment: ["PROXY_PUSH_DENY_NETWORKS": " 10.0.0.0/8 , fd00::/8,", "PROXY_PUSH_ALLOW_NETWORKS": "10.1.0.0/16"])
        #expect(configuration?.pushDenyNetworks.map(\.description) == ["10.0.0.0/8", "fd00::/8"])
        #expect(configuration?.pushAllowNetworks.map(\.description) == ["10.1.0.0/16"])
    }

    @Test func allowEntriesWinOverDeniedNetworks() throws {
        let policy = PushAddressPolicy(denied: [try #require(IPNetwork("10.0.0.0/8"))], allowed: [try #require(IPNetwork("10.1.0.0/16")), try #require(IPNetwork("169.254.169.254"))])
        #expect(policy.refusal(of: try #require(IPAddress(urlHost: "10.2.0.1")))?.contains("PROXY_PUSH_DENY_NETWORKS") == true)
        #expect(policy.refusal(of: try #require(IPAddress(urlHost: "10.1.0.1"))) == nil)
        #expect(policy.refusal(of: try #require(IPAddress(urlHost: "169.254.169.254"))) == nil)
        #expect(policy.refusal(of: try #require(IPAddress(urlHost: "169.254.170.2")))?.contains("169.254.0.0/16") == true)
        // The NAT64 spelling of a denied IPv4 address is denied too.
        #expect(policy.refusal(of: try #require(IPAddress(urlHost: "[64:ff9b::a9fe:aa02]"))) != nil)
        #expect(PushAddressPolicy.defaultDenials.count == 7)
    }

    @Test func targetsKeepTheNameForTheHostHeaderAndConnectToTheCheckedAddress() throws {
        let target = try #require(PushTarget(url: "http://user:pw@App.Example:8080/rpc?x=1#frag"))
        #expect(target.host == "app.example")
        #expect(target.port == 8080)
        #expect(target.hostHeader == "App.Example:8080")
        #expect(target.endpointKey == "app.example:8080")
        #expect(target.url(connectingTo: try #require(IPAddress(urlHost: "10.0.0.7"))) == "http://10.0.0.7:8080/rpc?x=1")
        #expect(target.url(connectingTo: try #require(IPAddress(urlHost: "[fd00::7]"))) == "http://[fd00::7]:8080/rpc?x=1")
        #expect(PushTarget(url: "https://example.com")?.port == 443)
        #expect(PushTarget(url: "http://example.com?q")?.pathAndQuery == "/?q")
        #expect(PushTarget(url: "http://example.com:0/") == nil)
        #expect(PushTarget(url: "http://[::1/") == nil)
        #expect(PushTarget(url: "http://169%2E254%2E169%2E254/")?.literalAddress?.description == "169.254.169.254")
    }

    @Test func slotsKeepAShareForEachEndpointAndAReserveForIdleOnes() {
        let slots = PushSlots(capacity: 32, share: 8)
        // Deliveries to six stalled endpoints arrive interleaved, as they do from the shared list.
        var taken = 0
        for _ in 0..<8 {
            for app in 0..<6 where slots.take(for: "stalled-\(app)") != nil { taken += 1 }
        }
        #expect(taken == 24, "busy endpoints may share three quarters of the slots")
        #expect(slots.take(for: "stalled-0") == nil)
        // The last quarter takes only endpoints with nothing in flight, one delivery each.
        #expect(slots.take(for: "stalled-7") != nil)
        #expect(slots.take(for: "stalled-7") == nil)
        var healthy: [PushSlots.Ticket] = []
        for app in 0..<10 { if let ticket = slots.take(for: "healthy-\(app)") { healthy.append(ticket) } }
        #expect(healthy.count == 7)
        slots.give(healthy[0])
        #expect(slots.take(for: "stalled-0") == nil, "a freed reserve slot does not go to an endpoint that has deliveries in flight")
        #expect(slots.take(for: "healthy-0") != nil)
    }

    /// Time as the test sets it.
    final class ManualClock: Sendable {
        private let current = Mutex(1_000_000.0)
        var now: @Sendable () -> Double { { self.current.withLock { $0 } } }
        func advance(by seconds: Double) { current.withLock { $0 += seconds } }
    }

    @Test func anEndpointThatAnswersFastMayUseEverySlotOutsideTheReserve() {
        let clock = ManualClock()
        let slots = PushSlots(capacity: 32, share: 8, now: clock.now)
        var tickets = (0..<20).compactMap { _ in slots.take(for: "fast") }
        #expect(tickets.count == 8, "an endpoint with no history is held to its share")
        clock.advance(by: 0.005)
        for ticket in tickets { slots.give(ticket) }
        tickets = (0..<40).compactMap { _ in slots.take(for: "fast") }
        #expect(tickets.count == 24, "once its deliveries come back fast, it may use three quarters of the slots")
        #expect(slots.take(for: "other") != nil, "the reserve stays for endpoints with nothing in flight")
        // The same endpoint stalls: its deliveries in flight grow old, and it is back to its share.
        clock.advance(by: 1)
        slots.give(tickets.removeLast())
        #expect(slots.take(for: "fast") == nil)
        for ticket in tickets.prefix(16) { slots.give(ticket) }
        #expect(slots.take(for: "fast") != nil, "7 deliveries in flight leave room for one more under the share of 8")
        #expect(slots.take(for: "fast") == nil)
    }

    @Test func oneEndpointIsHeldToItsShare() throws {
        let slots = PushSlots(capacity: 32, share: 8)
        var taken = 0
        for _ in 0..<20 where slots.take(for: "only") != nil { taken += 1 }
        #expect(taken == 8)
        let single = PushSlots(capacity: 1, share: 1)
        let first = try #require(single.take(for: "a"))
        #expect(single.take(for: "b") == nil)
        single.give(first)
        #expect(single.take(for: "b") != nil)
    }

    @Test func aWaitingDeliveryGetsItsEndpointsNextSlot() async throws {
        // A first delivery of 50 ms counts as slow here, so the endpoint stays at its share.
        let slots = PushSlots(capacity: 32, share: 1, stallAge: 0.01)
        let first = try #require(slots.take(for: "a"))
        let waiter = Task { await slots.waitForSlot(for: "a", until: Timestamp.now() + 5) }
        try await Task.sleep(for: .milliseconds(50))
        let freedAt = Date()
        slots.give(first)
        #expect(await waiter.value != nil)
        // Woken by the freed slot, well before its own 5 s limit (generous: the suite runs in parallel).
        #expect(Date().timeIntervalSince(freedAt) < 3)
        #expect(slots.take(for: "a") == nil, "the waiter holds the endpoint's one slot now")
        #expect(await slots.waitForSlot(for: "a", until: Timestamp.now() + 0.05) == nil)
    }

    @Test func aStalledWaiterLetsTheDispatcherLeaseForTheReserve() async throws {
        // Four slots, one of them reserved: three deliveries to "a" fill the shared part.
        let slots = PushSlots(capacity: 4, share: 4, stallAge: 0.1)
        for _ in 0..<3 { #expect(slots.take(for: "a") != nil) }
        let waiter = Task { await slots.waitForSlot(for: "a", until: Timestamp.now() + 5) }
        try await Task.sleep(for: .milliseconds(20))
        // Three running and one waiting leave nothing to lease until the waiter looks stalled.
        let started = Date()
        #expect(await slots.waitForFree() == 1)
        #expect(Date().timeIntervalSince(started) >= 0.05)
        #expect(slots.take(for: "b") != nil)
        waiter.cancel()
        #expect(await waiter.value == nil)
    }
}
