/// A cluster node's answer that the command belongs elsewhere or must wait.
enum RedisClusterReply {
    /// `MOVED <slot> <host>:<port>`: the slot lives there now.
    case moved(slot: Int, to: RedisEndpoint)
    /// `ASK <slot> <host>:<port>`: this one command goes there, after `ASKING`.
    case ask(slot: Int, to: RedisEndpoint)
    /// TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN: the same command may succeed shortly.
    case retryLater

    init?(errorMessage message: String) {
        if message.hasPrefix("MOVED ") || message.hasPrefix("ASK ") {
            let parts = message.split(separator: " ")
            guard parts.count >= 3, let slot = Int(parts[1]), let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...])
            else { return nil }
            var host = String(parts[2][..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let target = RedisEndpoint(host: host, port: port)
            self = message.hasPrefix("MOVED ") ? .moved(slot: slot, to: target) : .ask(slot: slot, to: target)
            return
        }
        for prefix in ["TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN"] where message.hasPrefix(prefix) {
            self = .retryLater
            return
        }
        return nil
    }
}
