import Synchronization
import SyftProxyTestSupport
import Testing
@testable import SyftProxyRedis

@Suite(.serialized) struct ClusterSubscriberTests {
    final class Received: Sendable {
        private let messages = Mutex<[String: [String]]>([:])
        let subscriptions = Counter()
        func add(_ channel: String, _ payload: [UInt8]) {
            messages.withLock { $0[channel, default: []].append(String(decoding: payload, as: UTF8.self)) }
        }
        func payloads(_ channel: String) -> [String] { messages.withLock { $0[channel] ?? [] } }
    }

    @Test func shardMessagesFromEveryMasterKeepComingAfterAReshard() async throws {
        try await withClusterClient { client, cluster in
            let masters = try cluster.masters
            // One channel per master; the first sits on its master's lowest slot, which a
            // one-slot reshard moves.
            let channels = masters.enumerated().map { index, master in
                index == 0 ? key("events", where: { $0 == master.lowestSlot }) : key("events", where: master.owns)
            }
            let received = Received()
            let subscription = client.makeShardSubscriber(
                channels: channels, logger: testLogger, onMessage: { received.add($0, $1) }, onSubscribed: { received.subscriptions.increment() })
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await subscription.run() }
                try await eventually("subscribed on every master") { subscription.isConnected }
                #expect(received.subscriptions.value >= 1)
                for channel in channels {
                    #expect(try await client.send(RedisCommand("SPUBLISH", channel, "first"), routingKey: channel) == .integer(1))
                }
                try await eventually("a message from every master") { channels.allSatisfy { received.payloads($0) == ["first"] } }

                let subscribedBefore = received.subscriptions.value
                try await cluster.reshard(slots: 1, from: masters[0], to: masters[1])
                #expect(try cluster.master(owning: RedisHashSlot.slot(of: channels[0])).port == masters[1].port)
                try await eventually("subscribed again where the slot went", within: 10) {
                    received.subscriptions.value > subscribedBefore && subscription.isConnected
                }
                try await eventually("messages on the moved channel arrive again", within: 10) {
                    _ = try await client.send(RedisCommand("SPUBLISH", channels[0], "after"), routingKey: channels[0])
                    return received.payloads(channels[0]).contains("after")
                }
                group.cancelAll()
            }
        }
    }
}
