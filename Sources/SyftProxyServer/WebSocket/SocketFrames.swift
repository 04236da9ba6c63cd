import SyftProxyCore

/// The frames an app sends and the refusals it gets back on GET /rpc/connect. Items the
/// server sends are ``RPCRecord/inboxJSON``, the same encoder as the inbox's.
enum SocketFrames {
    /// `{"id": "...", "result": ...}` or `{"id": "...", "error": "..."}`; a refusal frame
    /// with status 422 for anything else.
    static func answer(from text: String) -> Result<(id: String, answer: RPCAnswer), Rejection> {
        let json: JSONValue
        do {
            json = try JSONParser.parse(text)
        } catch {
            return .failure(Rejection(rejection(id: nil, status: 422, "frame is not JSON (\(error)); \(expected)")))
        }
        guard case .object(let object) = json else {
            return .failure(Rejection(rejection(id: nil, status: 422, "frame is not a JSON object; \(expected)")))
        }
        guard case .string(let id)? = object["id"], !id.isEmpty else {
            return .failure(Rejection(rejection(id: nil, status: 422, "frame has no \"id\" string naming the item it answers; \(expected)")))
        }
        do {
            return .success((id, try RPCAnswer(json: json)))
        } catch {
            let why = error.issues.map { "\($0.location.last.map(SocketFrames.name) ?? "frame"): \($0.message)" }.joined(separator: "; ")
            return .failure(Rejection(rejection(id: id, status: 422, "\(why); \(expected)")))
        }
    }

    /// `{"id": ..., "status": ..., "detail": ...}`, `id` left out when the frame named none.
    static func rejection(id: String?, status: Int, _ detail: String) -> String {
        var object: JSONObject = [:]
        if let id { object["id"] = .string(id) }
        object["status"] = .int(status)
        object["detail"] = .string(detail)
        return JSONValue.object(object).compactString
    }

    static func finalState(_ record: RPCRecord) -> String {
        record.timedOut ? "already timed out" : "is already \(record.state.rawValue)"
    }

    private static func name(_ location: ValidationIssue.Location) -> String {
        switch location {
        case .key(let key): key
        case .index(let index): String(index)
        }
    }

    struct Rejection: Error {
        let frame: String
        init(_ frame: String) { self.frame = frame }
    }

    private static let expected = #"send {"id": "...", "result": ...} or {"id": "...", "error": "..."}"#
}
