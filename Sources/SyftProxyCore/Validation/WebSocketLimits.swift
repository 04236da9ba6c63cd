/// Limits of WebSocket delivery (GET /rpc/connect/{app_name}), shared by the server, the app
/// SDK and the API document, so each is written once.
public enum WebSocketLimits {
    /// Unanswered items one socket holds when `concurrency` is not given.
    public static let defaultConcurrency = 16
    public static let maximumConcurrency = 100
    /// How often the server pings an app; a socket without a pong by the next ping is closed
    /// and its items go back to the queue.
    public static let pingSeconds = 10
}
