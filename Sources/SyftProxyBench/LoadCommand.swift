import ArgumentParser
import Foundation

/// Blocking pull round trips against replicas that are already running, for profiling one
/// replica (under valgrind or perf) without the rest of the benchmark.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Blocking pull round trips against running replicas; prints one line of figures.")

    @Option(help: "Replica base URLs, comma separated.") var url: String
    @Option(help: "Concurrent blocking senders.") var concurrency = 64
    @Option(help: "Seconds to measure.") var duration = 5.0
    @Option(help: "Seconds of warm-up before measuring.") var warmup = 1.0
    @Option(help: "Pull consumers per replica.") var consumers = 4

    func run() async throws {
        let urls = url.split(separator: ",").map(String.init)
        let load = LoadClient.make(connections: concurrency + 64)
        let pull = runPullResponders(load, urls: urls, app: "bench-pull", destination: "pull@bench.local", consumers: consumers * urls.count)
        let body: @Sendable (Int) async throws -> Void = { n in
            let (status, json) = try await load.post("\(urls[n % urls.count])/rpc/send", sendBody(app: "bench-pull", destination: "pull@bench.local", blocking: true, n: n))
            guard status == 200, json?["status"] == "completed" else { throw BenchError("round trip answered \(status)") }
        }
        if warmup > 0 { _ = await measure(concurrency: concurrency, duration: warmup, body) }
        let m = await measure(concurrency: concurrency, duration: duration, body)
        print(String(format: "c=%d requests=%d errors=%d req/s=%.0f p50=%.3f p90=%.3f p99=%.3f max=%.3f ms", concurrency, Int(m.count), m.errors, m.perSecond,
                     m.milliseconds(50), m.milliseconds(90), m.milliseconds(99), m.maxMilliseconds))
        pull.cancel()
        _ = await pull.value
        await load.shutdown()
    }
}
