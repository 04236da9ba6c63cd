import SyftProxyCore

/// Tables for people, the API's JSON for scripts (--json).
enum AdminOutput {
    /// Columns padded to their widest cell, two spaces apart.
    static func table(_ headers: [String], _ rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                let last = index == cells.count - 1
                text += last ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) + "  "
            }
            return text
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }

    static func text(_ value: JSONValue?) -> String {
        guard let value else { return "" }
        if case .null = value { return "" }
        return value.stringValue ?? value.compactString
    }

    static func emit(_ json: JSONValue, options: AdminOptions, _ human: () -> String) {
        StandardOutput.line(options.json ? json.compactString : human())
    }

    static func page(_ json: JSONValue, key: String, options: AdminOptions) {
        emit(json, options: options) {
            let items = json[key]?.arrayValue ?? []
            let rows = items.map { item in
                ["id", "app_name", "func_name", "destination", "status", "failure_class", "attempts", "created_at"].map { text(item[$0]) }
            }
            var out = table(["ID", "APP", "FUNCTION", "DESTINATION", "STATUS", "REASON", "ATTEMPTS", "CREATED"], rows)
            if let next = json["next_cursor"]?.stringValue { out += "\nmore: --cursor \(next)" }
            return out
        }
    }

    static func detail(_ json: JSONValue, options: AdminOptions) {
        emit(json, options: options) {
            var lines = ["id", "app_name", "func_name", "destination", "sender", "status", "failure_class", "error", "attempts", "created_at", "deadline"]
                .map { "\($0.padding(toLength: 14, withPad: " ", startingAt: 0)) \(text(json[$0]))" }
            lines.append("")
            let events = (json["timeline"]?.arrayValue ?? []).map { [text($0["at"]), text($0["event"]), text($0["detail"])] }
            lines.append(table(["AT", "EVENT", "DETAIL"], events))
            return lines.joined(separator: "\n")
        }
    }

    static func status(_ json: JSONValue, options: AdminOptions) {
        emit(json, options: options) { "\(text(json["id"])): \(text(json["status"])) (\(text(json["error"])))" }
    }

    static func retried(_ json: JSONValue, options: AdminOptions) {
        emit(json, options: options) {
            let retried = (json["retried"]?.arrayValue ?? []).map { [text($0), "retried"] }
            let skipped = (json["skipped"]?.arrayValue ?? []).map { [text($0["id"]), text($0["detail"])] }
            return table(["ID", "OUTCOME"], retried + skipped)
        }
    }

    static func queues(_ json: JSONValue, options: AdminOptions) {
        emit(json, options: options) {
            let rows = (json["queues"]?.arrayValue ?? []).map { queue in
                [text(queue["mode"]), text(queue["app_name"]), text(queue["destination"]), text(queue["shard"]), text(queue["depth"]),
                 queue["oldest_age_seconds"]?.doubleValue.map { JSONValue.format(($0 * 10).rounded() / 10) + " s" } ?? ""]
            }
            return table(["MODE", "APP", "DESTINATION", "SHARD", "DEPTH", "OLDEST"], rows)
        }
    }

    static func purged(_ json: JSONValue, options: AdminOptions) {
        emit(json, options: options) { "purged \(text(json["purged"])), still queued \(text(json["remaining"]))" }
    }

    static func replicas(_ json: JSONValue, options: AdminOptions) {
        emit(json, options: options) {
            func seconds(_ value: JSONValue?) -> String {
                value?.doubleValue.map { JSONValue.format(($0 * 100_000).rounded() / 100) + " ms" } ?? ""
            }
            let rows = (json["replicas"]?.arrayValue ?? []).map { replica in
                [text(replica["id"]), text(replica["version"]), text(replica["address"]), text(replica["in_flight"]),
                 replica["round_trips_per_second"]?.doubleValue.map { JSONValue.format(($0 * 10).rounded() / 10) } ?? "",
                 seconds(replica["p50_seconds"]), seconds(replica["p99_seconds"]),
                 replica["seconds_since_seen"]?.doubleValue.map { JSONValue.format($0.rounded()) + " s ago" } ?? ""]
            }
            return table(["REPLICA", "VERSION", "ADDRESS", "IN FLIGHT", "RT/S", "P50", "P99", "SEEN"], rows)
        }
    }

    static func endpoints(_ json: JSONValue, options: AdminOptions) {
        emit(json, options: options) {
            let rows = (json["endpoints"]?.arrayValue ?? []).map { endpoint in
                [text(endpoint["mode"]), text(endpoint["app_name"]), text(endpoint["destination"]), text(endpoint["push_url"]),
                 text(endpoint["pull_consumer_last_seen"]), text(endpoint["health"]?["last_success"]), text(endpoint["health"]?["last_error"]),
                 text(endpoint["health"]?["consecutive_failures"]), text(endpoint["health"]?["last_error_message"])]
            }
            return table(["MODE", "APP", "DESTINATION", "URL", "CONSUMER SEEN", "LAST SUCCESS", "LAST ERROR", "FAILURES", "ERROR"], rows)
        }
    }
}
