extension Duration {
    /// Whole milliseconds, rounded down, for messages and Redis' decimal-second arguments.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
