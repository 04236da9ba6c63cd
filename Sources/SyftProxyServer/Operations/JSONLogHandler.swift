#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SyftProxyCore

/// One JSON object per line on stderr, for log shippers: time, level, message, source and
/// every metadata value as a string member.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object = JSONObject()
        object["time"] = .string(Timestamp.iso8601(Timestamp.now()))
        object["level"] = .string(event.level.rawValue)
        object["message"] = .string(event.message.description)
        object["logger"] = .string(label)
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { object[key] = .string("\(value)") }
        var bytes: [UInt8] = []
        JSONValue.object(object).write(to: &bytes)
        bytes.append(0x0A)
        // One write per line keeps lines from concurrent tasks whole.
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            _ = write(2, base, buffer.count)
        }
    }
}
