import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// File events for the folders the proxy waits in. On Linux this is inotify, read by one
/// thread; elsewhere `make()` returns nil and the transport relies on polling alone.
///
/// Only completed files matter: `IN_CLOSE_WRITE` (a responder that writes in place has
/// finished) and `IN_MOVED_TO` (a responder that writes and renames). A bare create would
/// mostly show empty files.
final class DirectoryWatcher: Sendable {
    enum Signal: Sendable, Equatable {
        case file(directory: String, name: String)
        /// Events were dropped (queue overflow); every pending answer should be looked for.
        case overflow
    }

    private struct Watches {
        var byDescriptor: [Int32: String] = [:]
        var byDirectory: [String: Int32] = [:]
    }

    private let descriptor: Int32
    private let watches = Mutex(Watches())
    private let running = Atomic<Bool>(true)

    private init(descriptor: Int32) { self.descriptor = descriptor }

    static func make() -> DirectoryWatcher? {
        #if os(Linux)
        let descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        return descriptor >= 0 ? DirectoryWatcher(descriptor: descriptor) : nil
        #else
        return nil
        #endif
    }

    /// Starts watching a folder (once per path; repeated calls are free). The watch is added
    /// through the folder's open descriptor (`/proc/self/fd/N`), so it lands on the folder the
    /// transport opened without following links, whatever the path names by now. A folder
    /// that is removed drops its watch, and the next `watch` adds it again.
    func watch(_ folder: Folder) throws(SyftBoxError) {
        #if os(Linux)
        if watches.withLock({ $0.byDirectory[folder.path] != nil }) { return }
        let watch = inotify_add_watch(descriptor, "/proc/self/fd/\(folder.descriptor)", UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR))
        guard watch >= 0 else { throw .io("cannot watch \(folder.path): \(FilePath.errorText())") }
        watches.withLock {
            if let previous = $0.byDirectory[folder.path], previous != watch { $0.byDescriptor[previous] = nil }
            $0.byDescriptor[watch] = folder.path
            $0.byDirectory[folder.path] = watch
        }
        #endif
    }

    /// Stops watching a folder no request waits in any more.
    func unwatch(_ directory: String) {
        #if os(Linux)
        let unused = watches.withLock { watches -> Int32? in
            guard let watch = watches.byDirectory.removeValue(forKey: directory) else { return nil }
            // Two paths can name one folder, and so share its watch: keep it for the other.
            if let other = watches.byDirectory.first(where: { $0.value == watch }) {
                watches.byDescriptor[watch] = other.key
                return nil
            }
            watches.byDescriptor[watch] = nil
            return watch
        }
        if let unused { inotify_rm_watch(descriptor, unused) }
        #endif
    }

    /// Folders watched now.
    var watchedCount: Int { watches.withLock { $0.byDirectory.count } }

    /// Events until the stream is dropped or `stop()` is called. The reader wakes every
    /// 250 ms to notice a stop, so shutting down never waits on a quiet folder.
    func signals() -> AsyncStream<Signal> {
        let (stream, continuation) = AsyncStream.makeStream(of: Signal.self, bufferingPolicy: .bufferingNewest(4096))
        continuation.onTermination = { [weak self] _ in self?.stop() }
        let thread = Thread { [self] in
            self.readLoop(continuation)
            continuation.finish()
        }
        thread.name = "syftbox-watcher"
        thread.start()
        return stream
    }

    func stop() { running.store(false, ordering: .relaxed) }

    deinit { close(descriptor) }

    private func readLoop(_ continuation: AsyncStream<Signal>.Continuation) {
        #if os(Linux)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while running.load(ordering: .relaxed) {
            var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&request, 1, 250)
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            for signal in parse(buffer[0..<count]) { continuation.yield(signal) }
        }
        #endif
    }

    /// `struct inotify_event` is 16 bytes of header (wd, mask, cookie, len) followed by a
    /// NUL-padded name of `len` bytes.
    private func parse(_ bytes: ArraySlice<UInt8>) -> [Signal] {
        var signals: [Signal] = []
        var offset = bytes.startIndex
        while offset + 16 <= bytes.endIndex {
            let (watch, mask, length) = bytes.withUnsafeBytes { raw in
                let base = offset - bytes.startIndex
                return (raw.loadUnaligned(fromByteOffset: base, as: Int32.self),
                        raw.loadUnaligned(fromByteOffset: base + 4, as: UInt32.self),
                        Int(raw.loadUnaligned(fromByteOffset: base + 12, as: UInt32.self)))
            }
            let nameStart = offset + 16
            let nameEnd = min(nameStart + length, bytes.endIndex)
            let name = String(decoding: bytes[nameStart..<nameEnd].prefix { $0 != 0 }, as: UTF8.self)
            offset = nameEnd
            #if os(Linux)
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                signals.append(.overflow)
            } else if mask & UInt32(IN_IGNORED) != 0 {
                watches.withLock {
                    // Only the mapping of this descriptor: the path may be watched anew by now.
                    if let directory = $0.byDescriptor.removeValue(forKey: watch), $0.byDirectory[directory] == watch {
                        $0.byDirectory[directory] = nil
                    }
                }
            } else if let directory = watches.withLock({ $0.byDescriptor[watch] }), !name.isEmpty {
                signals.append(.file(directory: directory, name: name))
            }
            #endif
        }
        return signals
    }
}
