/// What a `RedisSubscriber` reports.
public enum RedisSubscriberEvent: Sendable, Equatable {
    /// A message published on one of the subscribed channels.
    case message(channel: String, payload: [UInt8])
    /// Redis confirmed every subscription on a new connection. `reconnected` is true when an
    /// earlier connection had been subscribed too: messages published in between were lost,
    /// so re-check whatever state they would have announced.
    case subscribed(reconnected: Bool)
}
