import Foundation
import Histogram

/// Latencies of one scenario, in microseconds, and how many calls fit in its duration.
struct Measurement: Sendable {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var errors = 0
    var seconds = 0.0

    mutating func record(microseconds: UInt64) { _ = histogram.record(max(1, microseconds)) }

    mutating func merge(_ other: Measurement) {
        histogram.add(other.histogram)
        errors += other.errors
    }

    var count: UInt64 { histogram.totalCount }
    var perSecond: Double { seconds > 0 ? Double(count) / seconds : 0 }
    func milliseconds(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
    var maxMilliseconds: Double { Double(histogram.max) / 1000 }

    var json: [String: Any] {
        ["requests": count, "errors": errors, "per_second": perSecond.rounded(), "p50_ms": milliseconds(50),
         "p90_ms": milliseconds(90), "p99_ms": milliseconds(99), "max_ms": maxMilliseconds]
    }
}

/// Runs `concurrency` workers calling `body` until `duration` passes; each call's latency is recorded.
func measure(concurrency: Int, duration: Double, _ body: @escaping @Sendable (Int) async throws -> Void) async -> Measurement {
    let clock = ContinuousClock()
    let end = clock.now + .milliseconds(Int64(duration * 1000))
    let started = clock.now
    var total = await withTaskGroup(of: Measurement.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var local = Measurement()
                var n = 0
                while clock.now < end {
                    let callStarted = clock.now
                    do {
                        try await body(worker * 1_000_000 + n)
                        let elapsed = clock.now - callStarted
                        local.record(microseconds: UInt64(elapsed.components.seconds) * 1_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000))
                    } catch {
                        local.errors += 1
                    }
                    n += 1
                }
                return local
            }
        }
        var merged = Measurement()
        for await part in group { merged.merge(part) }
        return merged
    }
    let elapsed = clock.now - started
    total.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return total
}
