#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A folder opened without following any symbolic link below the root it was reached from.
/// The descriptor pins the folder itself: a link planted on its path later changes nothing
/// for what is read, written or removed through it. Closed with its last reference.
///
/// Every method is a blocking system call: call them on the transport's thread pool, never
/// on the concurrency pool's threads (a stalled network mount would block those).
final class Folder: Sendable {
    let path: String
    let descriptor: Int32
    /// Device and inode, to notice that the path now names another folder.
    let identity: Identity

    struct Identity: Sendable, Hashable {
        var device: UInt64
        var inode: UInt64
    }

    fileprivate init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
        var info = stat()
        identity = fstat(descriptor, &info) == 0
            ? Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) : Identity(device: 0, inode: 0)
    }

    deinit { close(descriptor) }

    /// The folder `name` inside this one, opened with `O_NOFOLLOW | O_DIRECTORY`; with `create`,
    /// made (`mkdirat`) when missing. Nil when it does not exist (and `create` is off). A
    /// symbolic link, or anything but a folder, by that name is refused, never followed.
    func subfolder(_ name: String, create: Bool, mode: mode_t = 0o755) throws(SyftBoxError) -> Folder? {
        guard FilePath.isComponent(name) else { throw .io("'\(name)' is not a single folder name (in \(path))") }
        var child = FilePath.retrying { openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        if child < 0, errno == ENOENT, create {
            if mkdirat(descriptor, name, mode) != 0, errno != EEXIST {
                throw .io("cannot create folder \(FilePath.join(path, name)): \(FilePath.errorText())")
            }
            child = FilePath.retrying { openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        }
        guard child >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP || code == ENOTDIR {
                throw .io("\(FilePath.join(path, name)) is a symbolic link or not a folder; the proxy follows no links inside the datasites folder")
            }
            throw .io("cannot open folder \(FilePath.join(path, name)): \(FilePath.errorText(code))")
        }
        return Folder(path: FilePath.join(path, name), descriptor: child)
    }

    /// Walks `components` down from this folder, one ``subfolder(_:create:mode:)`` each.
    func descend(_ components: [String], create: Bool) throws(SyftBoxError) -> Folder? {
        var current = self
        for component in components {
            guard let next = try current.subfolder(component, create: create) else { return nil }
            current = next
        }
        return current
    }

    enum Kind: Sendable, Equatable {
        case missing
        /// A regular file, with its modification and status-change times (Unix seconds).
        case regular(modified: Double, changed: Double)
        /// A link, FIFO, socket, device or folder: nothing the proxy reads, writes or removes.
        case other(String)

        var isPresent: Bool { self != .missing }
    }

    /// What `name` is, not following a link (`fstatat(AT_SYMLINK_NOFOLLOW)`).
    func kind(of name: String) -> Kind {
        var info = stat()
        guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            return errno == ENOENT || errno == ENOTDIR ? .missing : .other("unreadable: \(FilePath.errorText())")
        }
        return FilePath.kind(info)
    }

    enum ReadOutcome: Sendable, Equatable {
        case missing
        case tooLarge(Int)
        case contents([UInt8])
    }

    /// Reads a regular file whole, up to `limit` bytes. It is opened with `O_NOFOLLOW |
    /// O_NONBLOCK` and checked with `fstat` before any read: a link is refused, and a FIFO
    /// (whose open or read would wait for a writer forever) is refused at once.
    func read(_ name: String, limit: Int) throws(SyftBoxError) -> ReadOutcome {
        let file = FilePath.retrying { openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        guard file >= 0 else {
            let code = errno
            if code == ENOENT { return .missing }
            if code == ELOOP { throw .io("\(FilePath.join(path, name)) is a symbolic link; the proxy reads regular files only") }
            throw .io("cannot open \(FilePath.join(path, name)): \(FilePath.errorText(code))")
        }
        defer { close(file) }
        var info = stat()
        guard fstat(file, &info) == 0 else { throw .io("cannot inspect \(FilePath.join(path, name)): \(FilePath.errorText())") }
        if case .other(let what) = FilePath.kind(info) {
            throw .io("\(FilePath.join(path, name)) is \(what), not a regular file; the proxy reads regular files only")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(file, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .io("cannot read \(FilePath.join(path, name)): \(FilePath.errorText())")
            }
            if count == 0 { return .contents(bytes) }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { return .tooLarge(bytes.count) }
        }
    }

    /// Removes `name` if it is a regular file; one already gone counts as removed. A link,
    /// FIFO or folder of that name is left alone (false): the proxy writes regular files only.
    @discardableResult
    func remove(_ name: String) -> Bool {
        switch kind(of: name) {
        case .missing: return true
        case .other: return false
        case .regular: return unlinkat(descriptor, name, 0) == 0 || errno == ENOENT
        }
    }

    struct Entry: Sendable {
        var name: String
        /// From `d_type`: false only when the entry is known not to be a folder.
        var mayBeFolder: Bool
    }

    /// The folder's entries, without `.` and `..`.
    func entries() -> [Entry] {
        // A second descriptor of its own: closedir closes it, and its offset is not ours.
        let copy = FilePath.retrying { openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard copy >= 0 else { return [] }
        guard let stream = fdopendir(copy) else {
            close(copy)
            return []
        }
        defer { closedir(stream) }
        var found: [Entry] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            let type = entry.pointee.d_type
            found.append(Entry(name: name, mayBeFolder: type == UInt8(DT_DIR) || type == UInt8(DT_UNKNOWN)))
        }
        return found
    }

    func names() -> [String] { entries().map(\.name) }

    /// Writes `bytes` as `name` here, so that a reader sees either no file or the whole one:
    /// into a new staging file (`O_CREAT | O_EXCL | O_NOFOLLOW`, `mode` less the umask),
    /// fsynced, renamed into place with `renameat`, and this folder fsynced so the new name
    /// survives a crash.
    ///
    /// The staging folder lies outside the watched tree: the app's watcher then sees a single
    /// "moved in" event, which watchdog reports at once as a created file. A rename inside the
    /// watched folder would show a moved-from/moved-to pair, and watchdog holds a moved-from
    /// whose partner is not in the same read for half a second. If staging and destination
    /// are on different file systems, the staging file goes next to the destination instead,
    /// under a dot name ending in ``FilePath/localStagingSuffix``.
    func writeAtomically(_ bytes: [UInt8], as name: String, mode: mode_t, staging: Folder?) throws(SyftBoxError) {
        let unique = "\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        if let staging {
            let temporary = "\(name).\(unique).tmp"
            try staging.writeNew(temporary, bytes, mode: mode)
            if renameat(staging.descriptor, temporary, descriptor, name) == 0 { return try sync() }
            let code = errno
            unlinkat(staging.descriptor, temporary, 0)
            guard code == EXDEV else {
                throw .io("cannot rename \(FilePath.join(staging.path, temporary)) to \(FilePath.join(path, name)): \(FilePath.errorText(code))")
            }
        }
        let temporary = ".\(name).\(unique)\(FilePath.localStagingSuffix)"
        try writeNew(temporary, bytes, mode: mode)
        guard renameat(descriptor, temporary, descriptor, name) == 0 else {
            let why = FilePath.errorText()
            unlinkat(descriptor, temporary, 0)
            throw .io("cannot rename \(FilePath.join(path, temporary)) to \(FilePath.join(path, name)): \(why)")
        }
        try sync()
    }

    /// Creates `name` (it must not exist), writes it whole and fsyncs it.
    private func writeNew(_ name: String, _ bytes: [UInt8], mode: mode_t) throws(SyftBoxError) {
        let file = FilePath.retrying { openat(descriptor, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }
        guard file >= 0 else { throw .io("cannot create \(FilePath.join(path, name)): \(FilePath.errorText())") }
        func fail(_ what: String) -> SyftBoxError {
            let why = FilePath.errorText()
            close(file)
            unlinkat(descriptor, name, 0)
            return .io("cannot \(what) \(FilePath.join(path, name)): \(why)")
        }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in systemWrite(file, raw.baseAddress.map { $0 + written }, bytes.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw fail("write")
            }
            written += count
        }
        guard fsync(file) == 0 else { throw fail("fsync") }
        guard close(file) == 0 else {
            let why = FilePath.errorText()
            unlinkat(descriptor, name, 0)
            throw .io("cannot close \(FilePath.join(path, name)): \(why)")
        }
    }

    /// fsync of the folder itself, so a rename into it is durable. File systems that cannot
    /// sync a folder (EINVAL) are not an error.
    func sync() throws(SyftBoxError) {
        if fsync(descriptor) != 0, errno != EINVAL, errno != EROFS {
            throw .io("cannot fsync folder \(path): \(FilePath.errorText())")
        }
    }
}

/// Helpers for the file layer; everything below a configured folder goes through ``Folder``.
enum FilePath {
    /// Ends the name of a staging file written next to its destination (when staging is on
    /// another file system); the folder sweep removes such files left over by a crash.
    static let localStagingSuffix = ".syft-proxy.tmp"

    static func join(_ parts: String...) -> String { join(parts) }

    static func join(_ parts: [String]) -> String {
        var path = ""
        for part in parts where !part.isEmpty {
            if path.isEmpty || path.hasSuffix("/") { path += part } else { path += "/" + part }
        }
        return path
    }

    /// Opens a folder the operator configured (PROXY_SYFTBOX_DATA_DIR and its datasites/).
    /// Links in that path are the operator's choice and are followed; nothing below it is.
    /// Nil when it does not exist.
    static func openRoot(_ path: String) throws(SyftBoxError) -> Folder? {
        let descriptor = retrying { systemOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw .io("cannot open folder \(path): \(errorText())")
        }
        return Folder(path: path, descriptor: descriptor)
    }

    /// `root`, then `components` below it without following links; see ``Folder/descend(_:create:)``.
    /// With `create`, a missing root is made too (its parent, the configured data folder, must exist).
    static func open(_ root: String, _ components: [String], create: Bool) throws(SyftBoxError) -> Folder? {
        var folder = try openRoot(root)
        if folder == nil, create {
            if systemMakeDirectory(root, 0o755) != 0, errno != EEXIST { throw .io("cannot create folder \(root): \(errorText())") }
            folder = try openRoot(root)
        }
        guard let folder else { return nil }
        return try folder.descend(components, create: create)
    }

    /// One path component: not empty, not `.` or `..`, no `/` or NUL.
    static func isComponent(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(UInt8(ascii: "/")) && !name.utf8.contains(0)
    }

    static func kind(_ info: stat) -> Folder.Kind {
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            #if canImport(Darwin)
            let modified = info.st_mtimespec, changed = info.st_ctimespec
            #else
            let modified = info.st_mtim, changed = info.st_ctim
            #endif
            return .regular(modified: Double(modified.tv_sec) + Double(modified.tv_nsec) / 1e9,
                            changed: Double(changed.tv_sec) + Double(changed.tv_nsec) / 1e9)
        case S_IFLNK: return .other("a symbolic link")
        case S_IFIFO: return .other("a FIFO")
        case S_IFSOCK: return .other("a socket")
        case S_IFDIR: return .other("a folder")
        default: return .other("a device")
        }
    }

    /// Repeats a call interrupted by a signal.
    static func retrying(_ call: () -> Int32) -> Int32 {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }

    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}

// `read` and `write` are shadowed inside Folder by its own methods.
@inline(__always) private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

@inline(__always) private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

@inline(__always) private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }

@inline(__always) private func systemMakeDirectory(_ path: String, _ mode: mode_t) -> Int32 { mkdir(path, mode) }
