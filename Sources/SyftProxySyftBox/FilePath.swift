#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations the transport needs, with errors that name the path.
/// Plain syscalls keep the file traffic free of Foundation's FileManager and its locking.
enum FilePath {
    static func join(_ parts: String...) -> String { join(parts) }

    static func join(_ parts: [String]) -> String {
        var path = ""
        for part in parts where !part.isEmpty {
            if path.isEmpty || path.hasSuffix("/") { path += part } else { path += "/" + part }
        }
        return path
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Last modification as Unix seconds; nil when the file does not exist.
    static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        let time = info.st_mtimespec
        #else
        let time = info.st_mtim
        #endif
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// `mkdir -p`; group and others may read, as the sync client expects of a datasite.
    static func makeDirectories(_ path: String) throws(SyftBoxError) {
        if isDirectory(path) { return }
        var current = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            current = join(current, String(component))
            if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw .io("cannot create folder \(current): \(errorText())")
            }
        }
    }

    /// Writes the whole file elsewhere, then renames it into place, so an app sees one
    /// complete file and never a half-written one.
    ///
    /// The staging folder lies outside the watched tree: the app's watcher then sees a single
    /// "moved in" event, which watchdog reports at once as a created file. A rename inside the
    /// watched folder would show a moved-from/moved-to pair, and watchdog holds a moved-from
    /// whose partner is not in the same read for half a second. If staging and destination
    /// are on different file systems, the temporary name goes next to the destination instead.
    static func writeAtomically(_ bytes: [UInt8], directory: String, name: String, staging: String?) throws(SyftBoxError) {
        let final = join(directory, name)
        if let staging {
            let temporary = join(staging, "\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
            try writeWhole(bytes, to: temporary)
            if rename(temporary, final) == 0 { return }
            let code = errno
            unlink(temporary)
            guard code == EXDEV else { throw .io("cannot rename \(temporary) to \(final): \(String(cString: strerror(code)))") }
        }
        let temporary = join(directory, ".\(name).tmp")
        try writeWhole(bytes, to: temporary)
        guard rename(temporary, final) == 0 else {
            let why = errorText()
            unlink(temporary)
            throw .io("cannot rename \(temporary) to \(final): \(why)")
        }
    }

    private static func writeWhole(_ bytes: [UInt8], to path: String) throws(SyftBoxError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io("cannot create \(path): \(errorText())") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                write(descriptor, raw.baseAddress.map { $0 + written }, bytes.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                let why = errorText()
                close(descriptor)
                unlink(path)
                throw .io("cannot write \(path): \(why)")
            }
            written += count
        }
        close(descriptor)
    }

    enum ReadOutcome: Equatable {
        case missing
        case tooLarge(Int)
        case contents([UInt8])
    }

    static func contents(of path: String, limit: Int) throws(SyftBoxError) -> ReadOutcome {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return .missing }
            throw .io("cannot open \(path): \(errorText())")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .io("cannot read \(path): \(errorText())")
            }
            if count == 0 { return .contents(bytes) }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { return .tooLarge(bytes.count) }
        }
    }

    /// Removes a file; one already gone is not an error (another replica may have cleaned up).
    @discardableResult
    static func remove(_ path: String) -> Bool { unlink(path) == 0 || errno == ENOENT }

    /// Names in a folder, without `.` and `..`; empty when the folder does not exist.
    static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
