import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing
@testable import SyftProxySyftBox

/// A replica whose SyftBox lease passed to another replica (it stalled past the lease) stops
/// waiting on the request, and leaves the files alone: the new holder waits on the same ones.
@Suite struct LeaseTakeoverTests {
    @Test func aLeaseTakenOverElsewhereLeavesTheFilesToTheNewHolder() async throws {
        let fixture = try TransportTests.Fixture(leaseSeconds: 0.6)
        let record = try await fixture.leasedRequest()
        await fixture.transport.deliver(record)
        let requestPath = fixture.folder + "/\(record.id).request"
        #expect(fixture.exists(requestPath))

        // Another replica takes the request over: the lease goes back and out again.
        try await fixture.store.releaseLease(id: record.id, token: try #require(record.leaseToken))
        let takeover = try #require(try await fixture.store.leasePush(max: 1).first)
        #expect(takeover.record.leaseToken != record.leaseToken)

        try await eventually("the replica stops waiting once its lease is gone", within: 3) { fixture.transport.pendingCount == 0 }
        #expect(fixture.exists(requestPath), "the request file stays for the replica that holds the lease now")
        #expect(try await fixture.store.record(id: record.id)?.state == .processing)
    }
}
