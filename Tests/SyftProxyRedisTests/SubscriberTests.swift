import Synchronization
import SyftProxyTestSupport
import Testing
@testable import SyftProxyRedis

@Suite struct SubscriberTests {
    @Test func receivesMessagesAndResubscribesAfterRestart() async throws {
        try await withPool { pool, server in
            let (subscriber, events) = RedisSubscriber.makeStream(configuration: server.configuration, channels: ["events"], logger: testLogger)
            let seen = Mutex<[RedisSubscriberEvent]>([])
            let consumer = Task { for await event in events { seen.withLock { $0.append(event) } } }
            let running = Task { await subscriber.run() }

            try await eventually("first subscription") { seen.withLock { $0 } == [.subscribed(reconnected: false)] }
            let payload: [UInt8] = Array("one\r\n".utf8) + [0]
            #expect(try await pool.send(RedisCommand(arguments: [Array("PUBLISH".utf8), Array("events".utf8), payload])) == .integer(1))
            try await eventually("first message") { seen.withLock { $0.last } == .message(channel: "events", payload: payload) }

            subscriber.subscribe(channels: ["more"])
            try await eventually("a channel added while connected") { (try? await pool.send(RedisCommand("PUBLISH", "more", "m"))) == .integer(1) }
            try await eventually("its message") { seen.withLock { $0.last } == .message(channel: "more", payload: Array("m".utf8)) }

            server.stop()
            try await eventually("the subscriber notices the outage") { !subscriber.isConnected }
            try await server.start()
            try await eventually("resubscribed") { seen.withLock { $0.contains(.subscribed(reconnected: true)) } }
            try await eventually("pool back") { (try? await pool.ping()) != nil }
            for channel in ["events", "more"] {
                #expect(try await pool.send(RedisCommand("PUBLISH", channel, "after")) == .integer(1))
                try await eventually("a message after the restart on \(channel)") {
                    seen.withLock { $0.last } == .message(channel: channel, payload: Array("after".utf8))
                }
            }

            running.cancel()
            await running.value
            // The stream ends with run().
            await consumer.value
        }
    }

    @Test func handlersHearOneSubscribedEventPerConnection() async throws {
        try await withPool { pool, server in
            let subscriptions = Counter()
            let messages = Mutex<[String]>([])
            let subscriber = RedisSubscriber(
                configuration: server.configuration, channels: ["a", "b", "a"], logger: testLogger,
                onMessage: { channel, payload in messages.withLock { $0.append("\(channel):\(String(decoding: payload, as: UTF8.self))") } },
                onSubscribed: { subscriptions.increment() })
            let running = Task { await subscriber.run() }
            try await eventually("subscribed") { subscriptions.value == 1 }
            _ = try await pool.send(RedisCommand("PUBLISH", "a", "1"))
            _ = try await pool.send(RedisCommand("PUBLISH", "b", "2"))
            try await eventually("both messages") { messages.withLock { $0 } == ["a:1", "b:2"] }
            #expect(subscriptions.value == 1)

            subscriber.unsubscribe(channels: ["a"])
            try await eventually("unsubscribed") { (try? await pool.send(RedisCommand("PUBLISH", "a", "3"))) == .integer(0) }
            #expect(subscriber.channels == ["b"])
            running.cancel()
            await running.value
        }
    }

    @Test func silentServerIsDetectedAndReconnected() async throws {
        let server = try await ScriptedServer.start { _ in nil }
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.commandTimeout = .milliseconds(100)
        let subscriber = RedisSubscriber(configuration: configuration, channels: ["x"], logger: testLogger) { _ in }
        let running = Task { await subscriber.run() }
        // Each connection gets one unanswered PING interval before it is given up.
        try await eventually("reconnects after unanswered PINGs", within: 5) { server.acceptedConnections >= 3 }
        running.cancel()
        await running.value
        await server.stop()
    }
}

@Suite struct ShardChannelSubscriberTests {
    @Test func shardChannelsCarrySPublishedMessages() async throws {
        try await withPool { pool, server in
            let messages = Mutex<[String]>([])
            let subscriptions = Counter()
            let subscriber = pool.makeShardSubscriber(
                channels: ["{a}:events", "{b}:events"], logger: testLogger,
                onMessage: { channel, payload in messages.withLock { $0.append("\(channel):\(String(decoding: payload, as: UTF8.self))") } },
                onSubscribed: { subscriptions.increment() })
            let running = Task { await subscriber.run() }
            try await eventually("subscribed to both shard channels") { subscriptions.value == 1 && subscriber.isConnected }
            #expect(try await pool.send(RedisCommand("SPUBLISH", "{a}:events", "one"), routingKey: "{a}:events") == .integer(1))
            #expect(try await pool.send(RedisCommand("SPUBLISH", "{b}:events", "two"), routingKey: "{b}:events") == .integer(1))
            // A global PUBLISH on the same name reaches no shard subscriber.
            #expect(try await pool.send(RedisCommand("PUBLISH", "{a}:events", "global")) == .integer(0))
            try await eventually("both messages") { messages.withLock { $0 } == ["{a}:events:one", "{b}:events:two"] }
            running.cancel()
            await running.value
        }
    }
}
