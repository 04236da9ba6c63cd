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
        var headers = record.headers
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

    /// The `expires` of a request file, for cleaning up files whose writer is gone; nil when
    /// the file is not a request this proxy could have written.
    static func expiry(of bytes: [UInt8]) -> Double? {
        guard let text = (try? JSONParser.parse(bytes))?["expires"]?.stringValue else { return nil }
        return Timestamp.parseISO8601(text)
    }
}
