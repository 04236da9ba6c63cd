/// One message on a shard's events channel: which waiters a transition may have unblocked.
/// The scripts publish it through the Lua functions `luaPublishers` defines (so the text is
/// spelled here only) and RedisStore routes what its subscriber hears with `init(parsing:)`.
public enum WakeupEvent: Sendable, Hashable {
    /// The request with this id reached a final state: its blocked senders re-read it.
    case final(id: String)
    /// Work was queued on the pull queue with this list key: one of its long-polls leases it.
    case queued(list: String)
    /// Work was queued for push delivery on the shard whose channel carried it: the push
    /// workers lease it there.
    case pushQueued

    static let finalPrefix = "d:"
    static let queuedPrefix = "q:"
    static let pushQueuedText = "p"

    /// Nil for a message this version does not know; a newer replica's event is ignored, and
    /// the waiters' re-check tick covers whatever it announced.
    public init?(parsing payload: String) {
        if payload == Self.pushQueuedText {
            self = .pushQueued
        } else if payload.hasPrefix(Self.finalPrefix), payload.utf8.count > Self.finalPrefix.utf8.count {
            self = .final(id: String(payload.dropFirst(Self.finalPrefix.count)))
        } else if payload.hasPrefix(Self.queuedPrefix), payload.utf8.count > Self.queuedPrefix.utf8.count {
            self = .queued(list: String(payload.dropFirst(Self.queuedPrefix.count)))
        } else {
            return nil
        }
    }

    public init?(parsing payload: [UInt8]) {
        self.init(parsing: String(decoding: payload, as: UTF8.self))
    }

    public var encoded: String {
        switch self {
        case .final(let id): Self.finalPrefix + id
        case .queued(let list): Self.queuedPrefix + list
        case .pushQueued: Self.pushQueuedText
        }
    }

    /// The scripts' publishing functions, part of the shard prelude; `chan` is the shard's
    /// channel (ShardKeys.channel), declared in KEYS, so SPUBLISH stays on the script's slot.
    static let luaPublishers = """
        local function publishFinal(id) redis.call('SPUBLISH', chan, '\(finalPrefix)' .. id) end
        local function publishQueued(list) redis.call('SPUBLISH', chan, '\(queuedPrefix)' .. list) end
        local function publishPushQueued() redis.call('SPUBLISH', chan, '\(pushQueuedText)') end
        """
}
