/// Runs `body` where the caller's cancellation does not reach it, and waits for it.
///
/// For the work a cancellation itself calls for: a delivery cancelled by shutdown hands its
/// lease back to the store, and store calls fail at once in a cancelled task (so a cancelled
/// caller is never held up by Redis). Only bounded calls belong here: each store call has its
/// own command timeout, so the caller still ends.
public func uncancelled<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task { try await body() }.value
}
