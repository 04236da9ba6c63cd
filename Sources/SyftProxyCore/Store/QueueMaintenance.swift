/// How much of the pull queues one sweep looks after. Each sweep takes one step of a walk over
/// all queues (a cursor, so every queue gets its turn): it removes ids of ended requests from
/// the head of the queues it visits and forgets queues left empty. The budgets bound the work
/// of one step whatever the number of queues; a full walk takes about
/// `queues / queuesPerStep` sweeps, which is also how stale the pull queue gauge can be on
/// the Redis store once it has more than `queuesPerStep` queues (with fewer it counts them
/// all at each read).
public enum QueueMaintenance {
    /// Queues visited per step.
    public static let queuesPerStep = 500
    /// Ids looked at per step, over all queues visited.
    public static let idsPerStep = 5_000
    /// Ids looked at from the head of one queue per visit.
    public static let idsPerQueue = 1_000
    /// Ids one push lease takes off the push queue beyond those it delivers: requests that
    /// ended, or whose pair's endpoint was removed and which go back to pull delivery.
    public static let idsPerPushLease = 1_000
}
