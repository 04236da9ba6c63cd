/// Which master serves which slots, as one node reported it (`CLUSTER SHARDS`, or
/// `CLUSTER SLOTS` on servers before 7.0).
struct RedisClusterSlotRanges: Sendable, Equatable {
    struct Range: Sendable, Equatable {
        let slots: ClosedRange<Int>
        let master: RedisEndpoint
    }

    var ranges: [Range]

    var masters: Set<RedisEndpoint> { Set(ranges.map(\.master)) }

    /// `CLUSTER SHARDS`: per shard, `slots` (start and end pairs) and `nodes` (key/value lists
    /// with `ip`, `endpoint`, `port` or `tls-port`, `role`). `reportedBy` stands in for an
    /// address the node leaves empty (it means the node itself).
    static func parseShards(_ reply: RESPValue, reportedBy: RedisEndpoint, tls: Bool) throws -> RedisClusterSlotRanges {
        guard let shards = reply.array else { throw malformed("CLUSTER SHARDS", reply) }
        var ranges: [Range] = []
        for shard in shards {
            let fields = try keyValues(shard, command: "CLUSTER SHARDS")
            guard let slotList = fields["slots"]?.array, let nodes = fields["nodes"]?.array else { throw malformed("CLUSTER SHARDS", shard) }
            guard !slotList.isEmpty else { continue }
            var master: RedisEndpoint?
            for node in nodes {
                let node = try keyValues(node, command: "CLUSTER SHARDS")
                guard node["role"]?.string == "master" else { continue }
                let port = (tls ? node["tls-port"]?.int : nil) ?? node["port"]?.int ?? node["tls-port"]?.int
                guard let port else { continue }
                var host = node["endpoint"]?.string ?? ""
                if host.isEmpty || host == "?" { host = node["ip"]?.string ?? "" }
                if host.isEmpty { host = reportedBy.host }
                master = RedisEndpoint(host: host, port: Int(port))
                // An online master wins over one marked failed that still appears in the shard.
                if node["health"]?.string == "online" { break }
            }
            guard let master else { continue }
            var index = 0
            while index + 1 < slotList.count {
                guard let start = slotList[index].int, let end = slotList[index + 1].int, start <= end, start >= 0, end < RedisHashSlot.count else {
                    throw malformed("CLUSTER SHARDS", shard)
                }
                ranges.append(Range(slots: Int(start)...Int(end), master: master))
                index += 2
            }
        }
        return RedisClusterSlotRanges(ranges: ranges)
    }

    /// `CLUSTER SLOTS`: `[start, end, [ip, port, id, ...], replicas...]` per range.
    static func parseSlots(_ reply: RESPValue, reportedBy: RedisEndpoint) throws -> RedisClusterSlotRanges {
        guard let entries = reply.array else { throw malformed("CLUSTER SLOTS", reply) }
        var ranges: [Range] = []
        for entry in entries {
            guard let parts = entry.array, parts.count >= 3, let start = parts[0].int, let end = parts[1].int, start <= end, start >= 0,
                end < RedisHashSlot.count, let node = parts[2].array, node.count >= 2, let port = node[1].int
            else { throw malformed("CLUSTER SLOTS", entry) }
            // A null address is unknown; an empty one is the node that answered.
            guard !node[0].isNull else { continue }
            let host = node[0].string.flatMap { $0.isEmpty || $0 == "?" ? nil : $0 } ?? reportedBy.host
            ranges.append(Range(slots: Int(start)...Int(end), master: RedisEndpoint(host: host, port: Int(port))))
        }
        return RedisClusterSlotRanges(ranges: ranges)
    }

    private static func keyValues(_ value: RESPValue, command: String) throws -> [String: RESPValue] {
        guard let items = value.array, items.count % 2 == 0 else { throw malformed(command, value) }
        var fields: [String: RESPValue] = [:]
        var index = 0
        while index < items.count {
            if let key = items[index].string { fields[key] = items[index + 1] }
            index += 2
        }
        return fields
    }

    private static func malformed(_ command: String, _ value: RESPValue) -> RedisError {
        .protocolError("the \(command) reply is not shaped as Redis documents it (\(String(describing: value).prefix(200)))")
    }
}
