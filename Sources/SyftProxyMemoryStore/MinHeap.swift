/// Timers for deadlines, leases and expiry: earliest first. Entries are never removed from
/// the middle; a popped entry that no longer matches its record is simply ignored.
struct MinHeap<Element> {
    private var storage: [(at: Double, element: Element)] = []

    var count: Int { storage.count }

    mutating func push(_ element: Element, at time: Double) {
        storage.append((time, element))
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child].at < storage[parent].at else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `time`.
    mutating func popDue(at time: Double) -> (at: Double, element: Element)? {
        guard let first = storage.first, first.at <= time else { return nil }
        let last = storage.removeLast()
        if storage.isEmpty { return first }
        storage[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < storage.count, storage[left].at < storage[smallest].at { smallest = left }
            if right < storage.count, storage[right].at < storage[smallest].at { smallest = right }
            if smallest == parent { break }
            storage.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
