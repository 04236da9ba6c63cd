import SyftProxyCore

/// Polls `condition` until it holds or `seconds` pass; for states reached in the background
/// (a sweep, a file event).
public func eventually(within seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Timestamp.now() + seconds
    while Timestamp.now() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
