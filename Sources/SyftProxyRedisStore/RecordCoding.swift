import SyftProxyCore
import SyftProxyRedis

/// Turns the flat HGETALL array of an `rpc:` hash into a record.
enum RecordCoding {
    static func record(from reply: RESPValue) throws -> RPCRecord? {
        guard let fields = fields(from: reply) else { return nil }
        return try record(from: fields)
    }

    static func fields(from reply: RESPValue) -> [String: String]? {
        guard let items = reply.array, !items.isEmpty else { return nil }
        var fields: [String: String] = [:]
        fields.reserveCapacity(items.count / 2)
        var index = 0
        while index + 1 < items.count {
            if let key = items[index].string, let value = items[index + 1].string { fields[key] = value }
            index += 2
        }
        return fields
    }

    /// The record with what only the operator console reads: failure class and timeline.
    static func adminRecord(from reply: RESPValue, timeline: Bool) throws -> AdminRecord? {
        guard let fields = fields(from: reply) else { return nil }
        let record = try record(from: fields)
        var events: [TimelineEvent] = []
        if timeline, let text = fields["tl"], let list = try? JSONParser.parse(text).arrayValue {
            for item in list {
                guard let parts = item.arrayValue, parts.count == 3, let at = parts[0].stringValue.flatMap(Double.init),
                    let kind = parts[1].stringValue.flatMap(TimelineEvent.Kind.init(rawValue:))
                else { continue }
                events.append(TimelineEvent(at: at, kind: kind, detail: parts[2].stringValue ?? ""))
            }
        }
        let failure = record.state == .failed ? fields["fcls"].flatMap(FailureClass.init(rawValue:)) : nil
        return AdminRecord(record: record, failure: failure, timeline: events)
    }

    static func record(from fields: [String: String]) throws -> RPCRecord {
        func required(_ key: String) throws -> String {
            guard let value = fields[key] else { throw StoreError.corrupt("request hash lacks '\(key)'") }
            return value
        }
        func number(_ key: String) throws -> Double {
            guard let value = Double(try required(key)) else { throw StoreError.corrupt("request field '\(key)' is not a number") }
            return value
        }
        func optional(_ key: String) -> String? {
            guard let value = fields[key], !value.isEmpty else { return nil }
            return value
        }
        guard let state = RPCState(rawValue: try required("state")) else { throw StoreError.corrupt("unknown state '\(fields["state"] ?? "")'") }
        let params: JSONObject
        do { params = try JSONParser.parse(try required("params")).objectValue ?? [:] } catch { throw StoreError.corrupt("params are not JSON: \(error)") }
        var headers: [String: String] = [:]
        if let text = optional("headers"), case .object(let object)? = try? JSONParser.parse(text) {
            for member in object.members { if let value = member.value.stringValue { headers[member.key] = value } }
        }
        var result: JSONValue?
        if let text = fields["result"] {
            do { result = try JSONParser.parse(text) } catch { throw StoreError.corrupt("result is not JSON: \(error)") }
        }
        return RPCRecord(
            id: try required("id"), appName: try required("app"), funcName: try required("func"),
            destination: try required("dest"), sender: optional("sender"), state: state, params: params,
            headers: headers, result: result, error: fields["error"], createdAt: try number("created"),
            updatedAt: try number("updated"), completedAt: optional("completed").flatMap(Double.init),
            deadline: try number("deadline"), attempts: Int(fields["attempts"] ?? "0") ?? 0,
            endpoint: optional("endpoint"), traceparent: optional("trace"),
            leaseToken: state == .processing ? optional("ltok") : nil, syftBoxSender: optional("sbx"))
    }

    static func headersJSON(_ headers: [String: String]) -> String {
        JSONValue.stringMap(headers).compactString
    }
}
