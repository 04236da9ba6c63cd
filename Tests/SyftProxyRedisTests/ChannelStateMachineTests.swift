import NIOCore
import Testing
@testable import SyftProxyRedis

/// The connection's state machine as a plain value: promises are numbers, time is given.
@Suite struct ChannelStateMachineTests {
    typealias Machine = RedisChannelStateMachine<Int>

    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func command(_ id: UInt64, promise: Int? = nil, timeout: TimeAmount = .seconds(1)) -> Machine.Command {
        Machine.Command(id: id, bytes: ByteBuffer(string: "cmd\(id)"), promise: promise ?? Int(id), timeout: timeout)
    }

    func written(_ buffers: [ByteBuffer]) -> [String] { buffers.map { String(buffer: $0) } }

    func succeeded(_ action: Machine.ReplyAction) -> (Int, RESPValue)? {
        if case .succeed(let promise, let value) = action { return (promise, value) }
        return nil
    }

    @Test func pipelinesWithOneFlushAndMatchesRepliesInOrder() {
        var machine = Machine(endpoint: "test", maximumPending: 100)
        guard case .scheduleFlush = machine.enqueue([command(1)]) else { Issue.record("the first command schedules the flush"); return }
        guard case .none = machine.enqueue([command(2)]) else { Issue.record("later commands share the flush"); return }
        _ = machine.enqueue([command(3)])
        #expect(written(machine.flush(now: start)) == ["cmd1", "cmd2", "cmd3"])
        #expect(machine.pendingCount == 3)
        for (id, text) in [(1, "a"), (2, "b"), (3, "c")] {
            let reply = succeeded(machine.receive(.bulk(text), now: start))
            #expect(reply?.0 == id && reply?.1 == .bulk(text))
        }
        #expect(machine.pendingCount == 0)
        guard case .scheduleFlush = machine.enqueue([command(4)]) else { Issue.record("a flush after the last one is scheduled anew"); return }
    }

    @Test func errorRepliesFailOnlyTheirCaller() {
        var machine = Machine(endpoint: "test", maximumPending: 100)
        _ = machine.enqueue([command(1), command(2)])
        _ = machine.flush(now: start)
        guard case .fail(1, .server("ERR wrong")) = machine.receive(.error("ERR wrong"), now: start) else {
            Issue.record("an error reply fails its caller")
            return
        }
        #expect(succeeded(machine.receive(.integer(7), now: start))?.0 == 2)
        guard case .active = machine.state else { Issue.record("the connection stays up after an error reply"); return }
    }

    @Test func cancelledBeforeWriteIsDropped() {
        var machine = Machine(endpoint: "test", maximumPending: 100)
        _ = machine.enqueue([command(1), command(2)])
        #expect(machine.cancel(id: 1) == [1])
        #expect(written(machine.flush(now: start)) == ["cmd2"])
        #expect(succeeded(machine.receive(.bulk("b"), now: start))?.0 == 2)
        #expect(machine.cancel(id: 1).isEmpty)
    }

    @Test func cancelledAfterWriteKeepsItsSlotAndDiscardsItsReply() {
        var machine = Machine(endpoint: "test", maximumPending: 100)
        _ = machine.enqueue([command(1), command(2)])
        _ = machine.flush(now: start)
        #expect(machine.cancel(id: 1) == [1])
        #expect(machine.pendingCount == 2)
        guard case .discard = machine.receive(.bulk("a"), now: start) else { Issue.record("the cancelled caller's reply is discarded"); return }
        let second = succeeded(machine.receive(.bulk("b"), now: start))
        #expect(second?.0 == 2 && second?.1 == .bulk("b"))
    }

    @Test func boundedQueueRefusesBeyondTheLimit() {
        var machine = Machine(endpoint: "test", maximumPending: 2)
        _ = machine.enqueue([command(1)])
        _ = machine.enqueue([command(2)])
        guard case .fail([3], .unavailable(let message)) = machine.enqueue([command(3)]) else { Issue.record("the third command is refused"); return }
        #expect(message.contains("saturated") && message.contains("maximumPendingCommands"))
        _ = machine.flush(now: start)
        _ = machine.receive(.bulk("a"), now: start)
        guard case .scheduleFlush = machine.enqueue([command(4)]) else { Issue.record("room again after a reply"); return }
    }

    @Test func aBatchIsQueuedWholeAndBackToBack() {
        var machine = Machine(endpoint: "test", maximumPending: 3)
        _ = machine.enqueue([command(1)])
        _ = machine.enqueue([command(2), command(3)])
        // No room for both: neither is queued.
        guard case .fail([4, 5], _) = machine.enqueue([command(4), command(5)]) else { Issue.record("a batch beyond the limit fails whole"); return }
        #expect(written(machine.flush(now: start)) == ["cmd1", "cmd2", "cmd3"])
    }

    @Test func timeoutCountsFromWhenRedisCouldStart() {
        var machine = Machine(endpoint: "test", maximumPending: 100)
        _ = machine.enqueue([command(1), command(2)])
        _ = machine.flush(now: start)
        #expect(machine.overdue(now: start + .milliseconds(900)) == nil)
        _ = machine.receive(.bulk("a"), now: start + .milliseconds(900))
        // The second command's clock started with the first reply.
        #expect(machine.overdue(now: start + .milliseconds(1500)) == nil)
        guard case .timeout(let message)? = machine.overdue(now: start + .milliseconds(2000)) else { Issue.record("the second command is overdue"); return }
        #expect(message.contains("test") && message.contains("1000 ms"))
    }

    @Test func readOnlyReplyClosesTheConnection() {
        var machine = Machine(endpoint: "test", maximumPending: 100)
        _ = machine.enqueue([command(1), command(2)])
        _ = machine.flush(now: start)
        guard case .failAndClose(1?, .server(let message), let reason) = machine.receive(.error("READONLY You can't write against a read only replica."), now: start) else {
            Issue.record("READONLY fails its caller and closes")
            return
        }
        #expect(message.hasPrefix("READONLY"))
        guard case .close = machine.close(reason) else { Issue.record("the close starts"); return }
        let failed = machine.failAll(.connectionClosed("later"))
        #expect(failed.map(\.0) == [2] && failed.first?.1 == reason)
    }

    @Test func pushesInSubscriberMode() {
        var machine = Machine(endpoint: "test", maximumPending: 100)
        machine.deliverPushes()
        guard case .fail([1], .invalidCommand) = machine.enqueue([command(1)]) else { Issue.record("a subscriber refuses replies"); return }
        _ = machine.enqueue([Machine.Command(id: 2, bytes: ByteBuffer(string: "SSUBSCRIBE"), promise: nil, timeout: .zero)])
        #expect(written(machine.flush(now: start)) == ["SSUBSCRIBE"])
        let push = RESPValue.array([.bulk("smessage"), .bulk("c"), .bulk("hi")])
        guard case .push(push) = machine.receive(push, now: start) else { Issue.record("a push goes to the subscriber"); return }
    }

    @Test func unsolicitedReplyIsAProtocolError() {
        var machine = Machine(endpoint: "test", maximumPending: 100)
        guard case .close(.protocolError) = machine.receive(.bulk("?"), now: start) else { Issue.record("a reply nobody asked for closes"); return }
        guard case .ignore = machine.receive(.bulk("?"), now: start) else { Issue.record("after the close, the stream is ignored"); return }
    }

    @Test func closeFailsEveryPendingCommand() {
        var machine = Machine(endpoint: "test", maximumPending: 100)
        _ = machine.enqueue([command(1), command(2)])
        _ = machine.flush(now: start)
        _ = machine.enqueue([command(3)])
        let reason = RedisError.connectionClosed("gone")
        let failed = machine.failAll(reason)
        #expect(failed.map(\.0) == [1, 2, 3])
        #expect(failed[0].1 == reason && failed[1].1 == reason)
        // Never written: safe to retry, which `unavailable` says.
        guard case .unavailable = failed[2].1 else { Issue.record("an unwritten command fails as unavailable"); return }
        guard case .fail([4], .unavailable) = machine.enqueue([command(4)]) else { Issue.record("a closed connection refuses commands"); return }
        #expect(machine.flush(now: start).isEmpty)
    }
}
