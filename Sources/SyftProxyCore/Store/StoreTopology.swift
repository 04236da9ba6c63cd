/// How a store's backend is deployed and how much of it answers, as GET / and /ready report it.
public struct StoreTopology: Sendable, Equatable {
    /// "embedded", or the Redis deployment: "standalone", "sentinel", "cluster"; "detecting"
    /// until a Redis URL's first answer tells which.
    public var mode: String
    /// Nodes holding state: Redis masters (1 unless a cluster).
    public var nodes: Int
    /// Of those, how many have a connection up now.
    public var reachableNodes: Int

    public init(mode: String, nodes: Int, reachableNodes: Int) {
        self.mode = mode
        self.nodes = nodes
        self.reachableNodes = reachableNodes
    }

    public static let embedded = StoreTopology(mode: "embedded", nodes: 1, reachableNodes: 1)

    /// Some, not all, nodes answer: requests whose state lives on the others fail.
    public var isDegraded: Bool { reachableNodes > 0 && reachableNodes < nodes }
}
