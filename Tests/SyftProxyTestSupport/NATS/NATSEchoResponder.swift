import NIOCore

/// Answers every request on a subject with its own payload, on a connection of its own.
public final class NATSEchoResponder: Sendable {
    public let connection: NATSConnection

    private init(connection: NATSConnection) {
        self.connection = connection
    }

    /// Returns once the subscription is in place on the server, so no request sent after
    /// this goes unanswered.
    public static func start(host: String = "127.0.0.1", port: Int, subject: String) async throws -> NATSEchoResponder {
        let connection = try await NATSConnection.connect(host: host, port: port)
        do {
            // Weak: the subscription lives inside the connection, which must not keep itself alive.
            try await connection.subscribe(subject) { [weak connection] message in
                guard let replyTo = message.replyTo else { return }
                try? connection?.publish(replyTo, payload: message.payload)
            }
        } catch {
            await connection.close()
            throw error
        }
        return NATSEchoResponder(connection: connection)
    }

    public func close() async {
        await connection.close()
    }
}
