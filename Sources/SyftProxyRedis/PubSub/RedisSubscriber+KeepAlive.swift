import Logging
import NIOCore

extension RedisSubscriber {
    /// Returns when the connection closes, or closes it when the task is cancelled.
    func watch(_ connection: RedisConnection, tracker: SubscriptionTracker) async {
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await connection.closeFuture.get() }
                group.addTask { await self.keepAlive(connection, tracker: tracker) }
                await group.next()
                group.cancelAll()
            }
        } onCancel: {
            connection.channel.close(promise: nil)
        }
    }

    /// A subscriber only listens, so a hung Redis or a silently dropped network would go
    /// unnoticed: a PING every command timeout must be answered before the next one is due.
    private func keepAlive(_ connection: RedisConnection, tracker: SubscriptionTracker) async {
        while true {
            let pingedAt = ContinuousClock.now
            do {
                try connection.post(RedisCommand("PING"))
                try await Task.sleep(for: configuration.commandTimeout)
            } catch {
                return
            }
            guard tracker.heard(since: pingedAt) else {
                logger.warning("Redis did not answer PING on the subscription connection; reconnecting", metadata: ["redis": "\(configuration.endpointDescription)"])
                await connection.close()
                return
            }
        }
    }
}
