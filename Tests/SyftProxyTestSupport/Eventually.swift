/// Polls `condition` every 20 ms until it holds; after `seconds` it throws, naming `what` was
/// awaited. For states reached in the background (a sweep, a file event, a reconnect).
public func eventually(
    _ what: String, within seconds: Double = 10,
    isolation: isolated (any Actor)? = #isolation,
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    if try await condition() { return }
    throw TestFailure("not within \(seconds) s: \(what)")
}
