import Foundation

/// Collected figures, printed as a table with ratios to the baselines and written as JSON.
struct Report {
    let levels: [Int]
    var cells: [(scenario: String, level: Int, measurement: Measurement)] = []
    var rates: [String: Double] = [:]
    var memory: [String: [Double]] = [:]
    var connections: [String: [String: Double]] = [:]

    mutating func add(scenario: String, level: Int, _ measurement: Measurement) {
        cells.append((scenario, level, measurement))
    }

    private func baseline(_ level: Int) -> Measurement? {
        cells.first { $0.scenario == "baseline: HTTP echo" && $0.level == level }?.measurement
    }

    /// The round-trip anchor; absent when nats-server is not installed.
    private func natsAnchor(_ level: Int) -> Measurement? {
        cells.first { $0.scenario == "baseline: NATS request-reply" && $0.level == level }?.measurement
    }

    func print() {
        Swift.print(String(format: "%-44@ %5@ %10@ %9@ %9@ %9@ %9@ %7@ %10@ %9@ %10@", "scenario" as NSString, "conc" as NSString, "req/s" as NSString,
                           "p50 ms" as NSString, "p90 ms" as NSString, "p99 ms" as NSString, "max ms" as NSString, "errors" as NSString, "x echo r/s" as NSString, "x echo p50" as NSString, "x nats p50" as NSString))
        for cell in cells {
            let m = cell.measurement
            let base = baseline(cell.level)
            let rateRatio = base.map { m.perSecond / max($0.perSecond, 1) } ?? 0
            let latencyRatio = base.map { m.milliseconds(50) / max($0.milliseconds(50), 0.001) } ?? 0
            let natsRatio = natsAnchor(cell.level).map { m.milliseconds(50) / max($0.milliseconds(50), 0.001) } ?? 0
            Swift.print(String(format: "%-44@ %5d %10.0f %9.3f %9.3f %9.3f %9.3f %7d %10.3f %9.2f %10.2f", cell.scenario as NSString, cell.level, m.perSecond,
                               m.milliseconds(50), m.milliseconds(90), m.milliseconds(99), m.maxMilliseconds, m.errors, rateRatio, latencyRatio, natsRatio))
        }
        Swift.print("")
        for (name, value) in rates.sorted(by: { $0.key < $1.key }) {
            Swift.print(String(format: value < 100 ? "%-52@ %10.2f" : "%-52@ %10.0f", name as NSString, value))
        }
        for (name, values) in memory.sorted(by: { $0.key < $1.key }) {
            Swift.print(String(format: "%-52@ %@", name as NSString, values.map { String(format: "%.1f", $0) }.joined(separator: ", ") as NSString))
        }
        for (name, values) in connections.sorted(by: { $0.key < $1.key }) {
            Swift.print(String(format: "%-52@ idle %.1f, with 1000 waiting %.1f", "\(name): Redis connections per replica" as NSString,
                               values["idle_per_replica"] ?? 0, values["with_1000_waiting_per_replica"] ?? 0))
        }
    }

    func write(to path: String) throws {
        let document: [String: Any] = [
            "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount],
            "cells": cells.map { cell -> [String: Any] in
                var json = cell.measurement.json
                json["scenario"] = cell.scenario
                json["concurrency"] = cell.level
                if let base = baseline(cell.level) {
                    json["ratio_to_echo_per_second"] = cell.measurement.perSecond / max(base.perSecond, 1)
                    json["ratio_to_echo_p50"] = cell.measurement.milliseconds(50) / max(base.milliseconds(50), 0.001)
                }
                if let anchor = natsAnchor(cell.level) {
                    json["ratio_to_nats_per_second"] = cell.measurement.perSecond / max(anchor.perSecond, 1)
                    json["ratio_to_nats_p50"] = cell.measurement.milliseconds(50) / max(anchor.milliseconds(50), 0.001)
                }
                return json
            },
            "rates_per_second": rates,
            "rss_mb": memory,
            "redis_connections": connections,
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
    }
}
