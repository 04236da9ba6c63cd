import SyftProxyCore

/// The `<id>.request` file syft-event reads: compact JSON in syft-rpc's field order.
///
/// Every field is written, never left to syft-event's defaults: a missing `id` would make it
/// invent one (and answer under a name nobody waits for), a missing `expires` would mean
/// 24 hours, and a timestamp without an offset stops the app's dispatcher for good.
public enum SyftBoxRequestFile {
    /// Headers the proxy adds so the app can see who really called and join the trace.
    public static let callerHeader = "x-syft-proxy-sender"
    public static let traceHeader = "traceparent"

    public static func encode(_ record: RPCRecord, endpoint: SyftBoxEndpoint, sender: String) throws(SyftBoxError) -> [UInt8] {
        guard SyftBoxID.isCanonical(record.id) else {
            throw .unreachable("request id '\(record.id)' is not a lower-case UUID, which SyftBox needs as a file name")
        }
        // The caller's own spelling of a reserved name, in any letter case, never reaches the
        // file beside (or instead of) the proxy's value.
        var headers = record.headers.filter { !isReserved($0.key) }
        if let caller = record.sender { headers[callerHeader] = caller }
        if let traceparent = record.traceparent { headers[traceHeader] = TraceParent.child(of: traceparent) }
        let file: JSONObject = [
            "id": .string(record.id),
            "sender": .string(sender),
            "url": .string(endpoint.url),
            "body": .string(Base64.encodeURLSafe(JSONValue.object(record.params).compactBytes)),
            "headers": JSONValue.stringMap(headers),
            "created": .string(Timestamp.iso8601(record.createdAt)),
            "expires": .string(Timestamp.iso8601(record.deadline)),
            "method": "POST",
        ]
        return JSONValue.object(file).compactBytes
    }

    /// Header names the proxy sets itself; callers' headers of these names are dropped.
    public static let reservedHeaders: Set<String> = [callerHeader, traceHeader]

    /// Whether `name` is a reserved header in any letter case (ASCII case folding, as for HTTP
    /// field names), also with spaces or control characters around it.
    public static func isReserved(_ name: String) -> Bool {
        var bytes = Array(name.utf8)[...]
        while let first = bytes.first, first <= 0x20 || first == 0x7F { bytes = bytes.dropFirst() }
        while let last = bytes.last, last <= 0x20 || last == 0x7F { bytes = bytes.dropLast() }
        let folded = bytes.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        return reservedHeaders.contains(String(decoding: folded, as: UTF8.self))
    }

    /// The `expires` of a request file, for cleaning up files whose writer is gone; nil when
    /// the file is not a request this proxy could have written.
    static func expiry(of bytes: [UInt8]) -> Double? {
        guard let text = (try? JSONParser.parse(bytes))?["expires"]?.stringValue else { return nil }
        return Timestamp.parseISO8601(text)
    }
}
