#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Asks a server on 127.0.0.1 who it is over a plain socket, independent of the client under
/// test. Blocks for at most a fraction of a second; used only while waiting for a server.
public enum RedisProbe {
    /// The `process_id` from `INFO server`, or nil when nothing answers like Redis.
    public static func serverProcessID(port: Int, password: String? = nil) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = FreePort.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let auth = password.map { "*2\r\n$4\r\nAUTH\r\n$\($0.utf8.count)\r\n\($0)\r\n" } ?? ""
        let request = Array((auth + "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n").utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while reply.count < 64 * 1024 {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            reply.append(contentsOf: chunk[0..<count])
            // Only a complete line counts: a chunk may end in the middle of the number.
            let text = String(decoding: reply, as: UTF8.self)
            if let start = text.firstRange(of: "process_id:")?.upperBound, let end = text[start...].firstRange(of: "\r\n")?.lowerBound {
                return Int(text[start..<end])
            }
        }
        return nil
    }
}
