/// Index entries (``AdminCursor/entry(time:id:)``) in text order, for the embedded store's
/// admin indexes. New entries are almost always the largest, so inserting is usually an append.
public struct SortedEntries: Sendable, Equatable {
    public private(set) var items: [String] = []

    public init() {}

    public var count: Int { items.count }

    /// The first position whose entry is not below `entry`.
    private func lowerBound(_ entry: String) -> Int {
        var low = 0
        var high = items.count
        while low < high {
            let middle = (low + high) / 2
            if items[middle] < entry { low = middle + 1 } else { high = middle }
        }
        return low
    }

    public mutating func insert(_ entry: String) {
        if let last = items.last, last >= entry {
            let at = lowerBound(entry)
            if at < items.count, items[at] == entry { return }
            items.insert(entry, at: at)
        } else {
            items.append(entry)
        }
    }

    public mutating func remove(_ entry: String) {
        let at = lowerBound(entry)
        if at < items.count, items[at] == entry { items.remove(at: at) }
    }

    /// Up to `count` entries strictly below `bound` (all, without one), largest first.
    public func below(_ bound: String?, count: Int) -> [String] {
        var end = bound.map(lowerBound) ?? items.count
        var out: [String] = []
        out.reserveCapacity(min(count, end))
        while end > 0, out.count < count {
            end -= 1
            out.append(items[end])
        }
        return out
    }
}
