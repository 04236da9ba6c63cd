#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time as Unix seconds, and its ISO 8601 UTC rendering. Formatting by hand keeps
/// Foundation's formatter (and its locks) off the path of every status read.
public enum Timestamp {
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
    }

    /// `2026-11-25T07:31:05.123456Z`: microseconds, always UTC, as Python's isoformat gives.
    public static func iso8601(_ seconds: Double) -> String {
        let whole = seconds.rounded(.down)
        var micros = Int(((seconds - whole) * 1_000_000).rounded())
        var time = time_t(whole)
        if micros >= 1_000_000 {
            micros -= 1_000_000
            time += 1
        }
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        let microsText = String(micros)
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2)
            + "T" + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2)
            + "." + String(repeating: "0", count: 6 - microsText.count) + microsText + "Z"
    }
}
