import Logging
import NIOPosix
import Synchronization
import SyftProxyCore

/// The third delivery mode: a request for a SyftBox app becomes a syft-rpc request file in the
/// datasites folder, and the app's response file becomes the answer.
///
/// The forwarder hands over leased deliveries; writing the file takes microseconds, so no
/// forwarder slot is held while the app works. This object then waits for the answer file
/// (inotify, with polling as the safety net), keeps the lease alive meanwhile, and removes
/// the files when the request ends. A replica that dies leaves its lease to expire: the
/// delivery comes back to another replica sharing the folder, which finds the request file
/// already written and simply waits for the answer.
///
/// What is the proxy's own: only the files of a request the store marks as written through
/// SyftBox by this deployment (``RPCRecord/syftBoxSender``, set before the file is written),
/// in that request's own folder. Anything else in the folders it writes to (a syft-rpc client
/// of the same identity, a planted file) is never adopted, answered from or deleted.
///
/// Every file operation runs on the transport's own thread pool, never on the concurrency
/// pool's threads, and goes through folders opened one component at a time from the
/// datasites folder without following links (see ``Folder``).
public final class SyftBoxTransport: Sendable {
    public let settings: SyftBoxSettings
    let store: any RPCStore
    let leaseSeconds: Double
    let logger: Logger
    let onFinished: @Sendable (RPCRecord) -> Void
    let watcher: DirectoryWatcher?
    /// Blocking file I/O, started with the transport and shut down by ``shutdown()``.
    let files: NIOThreadPool
    let state = Mutex(State())

    /// Request files are created `0644` less the umask: what syft-rpc's
    /// `Path.write_text` gives under the usual umask 022. The app and the sync client read
    /// them, and either may run as another local user, so the proxy does not go tighter on its
    /// own; unlike Python's 0666 default it never makes them group- or world-writable, and a
    /// stricter umask (077) makes them private to the proxy's user where that suffices.
    public static let requestFileMode: UInt32 = 0o644

    /// Staging files older than this are leftovers of a crash (a write takes microseconds).
    static let stagingLeftoverAge: Double = 60

    struct State {
        var pending: [String: PendingFile] = [:]
        /// Each folder a pending request waits in, opened once, with how many wait there. A
        /// folder is watched exactly while some request waits in it.
        var folders: [String: FolderUse] = [:]
    }

    struct FolderUse {
        var folder: Folder
        var waiting: Int
    }

    struct PendingFile: Sendable {
        var directory: String
        var deadline: Double
        /// The lease this replica holds on the request (renewed while waiting, handed back on
        /// shutdown); nil for a delivery that was never leased, or one adopted by the sweep.
        var leaseToken: String?
        /// When the answer file was first seen incomplete or malformed.
        var unreadableSince: Double?
        /// Set while one task reads the answer, so an event and a poll don't both record it.
        var claimed = false
        /// Someone asked for a look while the claim was held.
        var lookAgain = false
    }

    public init(settings: SyftBoxSettings, store: any RPCStore, leaseSeconds: Double, logger: Logger,
                onFinished: @escaping @Sendable (RPCRecord) -> Void = { _ in }, fileThreads: Int = 4) {
        self.settings = settings
        self.store = store
        self.leaseSeconds = leaseSeconds
        self.logger = logger
        self.onFinished = onFinished
        self.watcher = DirectoryWatcher.make()
        self.files = NIOThreadPool(numberOfThreads: max(1, fileThreads))
        files.start()
    }

    deinit {
        // A transport dropped without shutdown() (tests, a server that never ran) still
        // stops its threads; shutting down twice is harmless.
        files.shutdownGracefully { _ in }
        watcher?.stop()
    }

    /// Stops the file threads; call once the transport has stopped running and handed back.
    public func shutdown() async {
        watcher?.stop()
        try? await files.shutdownGracefully()
    }

    /// Requests whose answer file this replica is waiting for.
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Whether file events are on; without them answers are found by polling only.
    public var watchesFiles: Bool { watcher != nil }

    /// Folders watched for answers now (those some pending request waits in).
    var watchedFolderCount: Int { watcher?.watchedCount ?? 0 }

    /// Runs blocking file work on the transport's thread pool.
    func io<T: Sendable>(_ body: @escaping @Sendable () throws(SyftBoxError) -> T) async throws(SyftBoxError) -> T {
        do {
            return try await files.runIfActive { () throws -> T in try body() }
        } catch let error as SyftBoxError {
            throw error
        } catch {
            throw .io("the SyftBox file threads are not running (\(error))")
        }
    }

    /// Whether `destination` runs `appName` on this datasites folder (syft-event creates the
    /// app's `rpc/` folder when it starts).
    public func hasAppFolder(destination: String, appName: String) async -> Bool {
        guard SyftBoxIdentity.isValid(destination), SyftBoxEndpoint.isFolderName(appName) else { return false }
        let datasites = settings.datasites
        let components = SyftBoxEndpoint.appRPCComponents(destination: destination, appName: appName)
        return (try? await io { () throws(SyftBoxError) -> Bool in try FilePath.open(datasites, components, create: false) != nil }) ?? false
    }

    public func schema(appName: String, destination: String?) async -> JSONValue? {
        let datasites = settings.datasites
        return try? await io { SyftBoxSchema.read(datasites: datasites, appName: appName, destination: destination) }
    }

    // MARK: Delivery

    /// Writes the request file for a leased delivery, unless an earlier delivery of the same
    /// request already did, and starts waiting for its answer. A request SyftBox cannot
    /// express fails at once with the reason.
    public func deliver(_ record: RPCRecord) async {
        let endpoint: SyftBoxEndpoint
        let bytes: [UInt8]
        do {
            // Everything is checked before anything touches the folder.
            endpoint = try SyftBoxEndpoint(destination: record.destination, appName: record.appName, funcName: record.funcName)
            bytes = try SyftBoxRequestFile.encode(record, endpoint: endpoint, sender: settings.email)
        } catch {
            await refuse(record, error)
            return
        }
        let id = record.id
        let datasites = settings.datasites
        let components = endpoint.senderComponents(sender: settings.email)
        let names = Self.fileNames(id)
        // The record's own folder, made where missing; a link anywhere below datasites/ is refused.
        let opened: (Folder, present: [String])
        do {
            opened = try await io { () throws(SyftBoxError) -> (Folder, present: [String]) in
                guard let folder = try FilePath.open(datasites, components, create: true) else { throw .io("cannot open \(datasites)") }
                return (folder, names.filter { folder.kind(of: $0).isPresent })
            }
        } catch {
            await refuse(record, error)
            return
        }
        let (folder, present) = opened
        let ownedBefore = record.syftBoxSender == settings.email
        if !present.isEmpty, !ownedBefore {
            // No delivery of this request wrote here, so these files are someone else's.
            logger.warning("SyftBox files named after a request the proxy never wrote; leaving them alone", metadata: [
                "id": "\(id)", "folder": "\(folder.path)", "files": "\(present)",
            ])
            await refuse(record, SyftBoxError.io("\(folder.path) already holds \(present.joined(separator: ", ")), which the proxy did not write; it neither replaces nor reads another writer's files"))
            return
        }
        if present.isEmpty {
            // Marked before the file exists, so no replica ever sees a file of ours unmarked;
            // fenced by the lease, so a holder whose lease passed on writes nothing.
            do {
                guard try await store.markSyftBoxDelivery(id: id, sender: settings.email, leaseToken: record.leaseToken) else {
                    logger.info("SyftBox delivery no longer this replica's (lease passed on or request ended); nothing written", metadata: ["id": "\(id)"])
                    return
                }
            } catch {
                // The lease runs out and the request comes back; nothing was written.
                logger.warning("cannot mark a SyftBox delivery in the store; it will be delivered again", metadata: ["id": "\(id)", "error": "\(error)"])
                return
            }
        }
        // Waiting starts before the file exists, so an app that answers at once finds both the
        // watch and the pending entry in place.
        startWaiting(id, PendingFile(directory: folder.path, deadline: record.deadline, leaseToken: record.leaseToken), in: folder)
        if present.isEmpty {
            let dataDirectory = settings.dataDirectory
            let stagingName = settings.stagingName
            do {
                try await io { () throws(SyftBoxError) in
                    // `<data_dir>/.syft-proxy-staging`: beside datasites/, so the sync client never sees it.
                    let staging = try? FilePath.openRoot(dataDirectory)?.subfolder(stagingName, create: true, mode: 0o700)
                    try folder.writeAtomically(bytes, as: names.request, mode: mode_t(Self.requestFileMode), staging: staging)
                }
            } catch {
                await refuse(record, error, directory: folder.path)
                return
            }
        }
        await collect(id)
    }

    private func refuse(_ record: RPCRecord, _ error: any Error, directory: String? = nil) async {
        logger.warning("SyftBox delivery failed", metadata: ["id": "\(record.id)", "error": "\(error)"])
        await finish(record.id, directory: directory, with: .undeliverable("cannot deliver through SyftBox: \(error)"))
    }

    // MARK: Running

    /// Waits for answers until cancelled: file events as they come, and a poll every
    /// `pollInterval` that also renews leases, expires overdue requests and sweeps the folders.
    public func run() async {
        await withDiscardingTaskGroup { group in
            if let watcher {
                group.addTask {
                    for await signal in watcher.signals() { await self.handle(signal) }
                }
            }
            group.addTask { await self.pollLoop() }
        }
    }

    /// On shutdown: every request still waiting on its app goes back to the queue at once, so
    /// another replica sharing the folder takes over the wait without sitting out the lease.
    /// The request files stay where they are; the next replica adopts them.
    public func handBack() async {
        let leases = state.withLock { state in
            defer {
                for directory in state.folders.keys { watcher?.unwatch(directory) }
                state.pending.removeAll()
                state.folders.removeAll()
            }
            return state.pending.compactMap { id, file in file.leaseToken.map { (id, $0) } }
        }
        // Shutdown may have cancelled the caller already; the hand-back must still reach the store.
        let store = self.store
        for (id, token) in leases { _ = try? await uncancelled { try await store.releaseLease(id: id, token: token) } }
        if !leases.isEmpty { logger.info("SyftBox requests handed back on shutdown", metadata: ["count": "\(leases.count)"]) }
    }

    private func handle(_ signal: DirectoryWatcher.Signal) async {
        switch signal {
        case .overflow:
            await pollOnce(now: Timestamp.now())
        case .file(let directory, let name):
            guard let id = Self.requestID(inAnswerOrMarker: name) else { return }
            guard state.withLock({ $0.pending[id]?.directory == directory }) else { return }
            await collect(id)
        }
    }

    private func pollLoop() async {
        let renewEvery = max(leaseSeconds / 3, settings.pollInterval)
        let sweepFolderEvery = max(10, settings.pollInterval * 10)
        var nextRenewal = Timestamp.now() + renewEvery
        var nextFolderSweep = Timestamp.now() + min(2, sweepFolderEvery)
        var nextStagingCleanup = Timestamp.now() + Self.stagingLeftoverAge
        await cleanStaging(now: Timestamp.now())
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int64(settings.pollInterval * 1000)))
            let now = Timestamp.now()
            await pollOnce(now: now)
            if now >= nextRenewal {
                nextRenewal = now + renewEvery
                await renewLeases()
            }
            if now >= nextFolderSweep {
                nextFolderSweep = now + sweepFolderEvery
                await sweepFolders(now: now)
                await refreshFolders()
            }
            if now >= nextStagingCleanup {
                nextStagingCleanup = now + Self.stagingLeftoverAge
                await cleanStaging(now: now)
            }
        }
    }

    /// Looks for every pending answer and rejection marker, in one pass on the file threads;
    /// the safety net for missed or unavailable file events.
    func pollOnce(now: Double) async {
        let snapshot = state.withLock { state in
            state.pending.compactMap { id, file in
                state.folders[file.directory].map { (id: id, file: file, folder: $0.folder) }
            }
        }
        guard !snapshot.isEmpty else { return }
        let looks = snapshot.map { (id: $0.id, folder: $0.folder) }
        let found = (try? await io { () -> Set<String> in
            var found: Set<String> = []
            for look in looks {
                let names = Self.fileNames(look.id)
                if look.folder.kind(of: names.response).isPresent || look.folder.kind(of: names.rejected).isPresent {
                    found.insert(look.id)
                }
            }
            return found
        }) ?? []
        for entry in snapshot {
            if found.contains(entry.id) {
                if !entry.file.claimed, watcher != nil {
                    logger.debug("SyftBox answer found by polling, not by a file event", metadata: ["id": "\(entry.id)"])
                }
                await collect(entry.id)
            } else if now >= entry.file.deadline {
                await expire(entry.id)
            }
        }
    }

    /// Keeps the store from handing a request that is still waiting on its app to another
    /// replica; a request that ended elsewhere (answered, timed out) is forgotten here.
    /// A lease taken over by another replica (this one stalled past it) means that replica now
    /// waits on the same files: this one stops waiting and leaves them alone.
    private func renewLeases() async {
        let leases = state.withLock { state in state.pending.compactMap { id, file in file.leaseToken.map { (id, $0) } } }
        for (id, token) in leases {
            switch try? await store.renewLease(id: id, token: token) {
            case .renewed?, nil:
                continue
            case .lost?:
                _ = stopWaiting(id)
            case .ended?:
                if let folder = stopWaiting(id) { await removeFiles(id, in: folder) }
            }
        }
    }

    // MARK: Answers

    /// Reads the answer file if it is there and complete, and records the answer. A look asked
    /// for while another is under way (an event racing a poll) is not dropped: the first
    /// reader looks again, so an answer finished mid-read is never left for the next poll.
    func collect(_ id: String) async {
        var again = true
        while again {
            guard let (file, folder) = claim(id) else { return }
            guard await readAnswer(id, file, folder) else { return }
            again = unclaim(id)
        }
    }

    enum Look: Sendable {
        case rejected(reason: String?)
        case answer(Folder.ReadOutcome)
        case unreadable(String)
    }

    /// True when there is nothing to record yet (no file, or not a complete one).
    private func readAnswer(_ id: String, _ file: PendingFile, _ folder: Folder) async -> Bool {
        let names = Self.fileNames(id)
        let limit = settings.maximumAnswerBytes
        let look: Look
        do {
            look = try await io { () throws(SyftBoxError) -> Look in
                // As syft-rpc does: a rejection marker first, then the answer.
                if folder.kind(of: names.rejected).isPresent {
                    return .rejected(reason: Self.rejectionReason(try? folder.read(names.rejected, limit: 64 * 1024)))
                }
                return .answer(try folder.read(names.response, limit: limit))
            }
        } catch {
            look = .unreadable(error.description)
        }
        let path = FilePath.join(folder.path, names.response)
        switch look {
        case .rejected(let reason):
            logger.warning("SyftBox rejected a request file", metadata: ["id": "\(id)", "folder": "\(folder.path)", "reason": "\(reason ?? "none given")"])
            var message = "SyftBox rejected the request: its request file was refused (renamed \(names.rejected)), as the SyftBox server does with a file the sender may not write there"
            if let reason { message += ": \(reason)" }
            await finish(id, directory: file.directory, with: .undeliverable(message))
        case .unreadable(let reason):
            guard let failure = unreadable(id, path: path, reason: reason, since: file.unreadableSince) else { return true }
            await finish(id, directory: file.directory, with: .error(failure))
        case .answer(.missing):
            return true
        case .answer(.tooLarge(let size)):
            await finish(id, directory: file.directory, with: .error(
                "the SyftBox app's answer is over \(size - 1) bytes, more than the \(settings.maximumAnswerBytes)-byte limit"))
        case .answer(.contents(let bytes)):
            do {
                let response = try SyftBoxResponseFile(decoding: bytes)
                await finish(id, directory: file.directory, with: response.answer)
            } catch {
                guard let failure = unreadable(id, path: path, reason: error.description, since: file.unreadableSince) else { return true }
                await finish(id, directory: file.directory, with: .error(failure))
            }
        }
        return false
    }

    /// What a rejection marker says about why, if anything: syft-rpc's marker is the refused
    /// request file renamed (its own JSON, no reason), but a marker with a `reason`, `error`,
    /// `message` or `detail` string, or plain text, is passed on.
    static func rejectionReason(_ outcome: Folder.ReadOutcome?) -> String? {
        guard case .contents(let bytes)? = outcome, !bytes.isEmpty else { return nil }
        if let document = try? JSONParser.parse(bytes) {
            for key in ["reason", "error", "message", "detail"] {
                if let text = document[key]?.stringValue, !text.isEmpty { return String(text.prefix(500)) }
            }
            return nil
        }
        let text = String(decoding: bytes.prefix(500), as: UTF8.self)
        let trimmed = text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingSpaces
        return trimmed.isEmpty ? nil : trimmed
    }

    /// An answer file that cannot be read yet is retried at the next event or poll: apps write
    /// answers in place, so a reader can catch one half-written. Past the grace period the
    /// file is taken as broken, and the returned message fails the request.
    @discardableResult
    private func unreadable(_ id: String, path: String, reason: String, since: Double?) -> String? {
        let now = Timestamp.now()
        if let since, now - since >= settings.unreadableGrace {
            logger.warning("SyftBox answer file is unreadable; failing the request", metadata: ["id": "\(id)", "path": "\(path)", "error": "\(reason)"])
            return "the SyftBox app's answer file \(path) is not a valid syft-rpc response: \(reason)"
        }
        state.withLock { if $0.pending[id]?.unreadableSince == nil { $0.pending[id]?.unreadableSince = now } }
        return nil
    }

    /// Records the answer, then removes the files. If the store cannot be reached, the files
    /// stay and the next poll tries again; nothing is deleted before the answer is safe.
    /// `directory` is nil when the files are not the proxy's to remove.
    private func finish(_ id: String, directory: String?, with answer: RPCAnswer) async {
        let outcome: AnswerOutcome
        do { outcome = try await store.answer(id: id, with: answer) } catch {
            logger.warning("cannot record a SyftBox answer; retrying", metadata: ["id": "\(id)", "error": "\(error)"])
            _ = unclaim(id)
            return
        }
        if case .accepted(let record) = outcome { onFinished(record) }
        let folder = stopWaiting(id)
        if directory != nil, let folder { await removeFiles(id, in: folder) }
    }

    /// Past the deadline with no answer: the request fails as timed out and its file is
    /// removed, so the app does not work on a call nobody waits for any more.
    private func expire(_ id: String) async {
        guard claim(id) != nil else { return }
        // The sweeper counts the timeout; this only makes sure the record says so before the
        // file goes.
        do { _ = try await store.expireIfOverdue(id: id) } catch {
            _ = unclaim(id)
            return
        }
        if let folder = stopWaiting(id) { await removeFiles(id, in: folder) }
        logger.info("SyftBox request timed out; request file removed", metadata: ["id": "\(id)"])
    }

    func isPending(_ id: String) -> Bool { state.withLock { $0.pending[id] != nil } }

    /// Starts waiting for a request of this proxy's whose writer is gone (found by the sweep).
    /// `folder` is the record's own folder (``ownDirectory(of:)``), never merely where a file
    /// was found: the caller checked the record's mark and folder.
    func adopt(_ record: RPCRecord, in folder: Folder) {
        guard ownDirectory(of: record) == folder.path, record.syftBoxSender == settings.email else { return }
        startWaiting(record.id, PendingFile(directory: folder.path, deadline: record.deadline), in: folder, keepLease: true)
    }

    /// The only folder this proxy writes the record's request into and reads its answer from;
    /// nil when SyftBox cannot address the record.
    func ownDirectory(of record: RPCRecord) -> String? {
        guard let endpoint = try? SyftBoxEndpoint(destination: record.destination, appName: record.appName, funcName: record.funcName)
        else { return nil }
        return endpoint.senderDirectory(datasites: settings.datasites, sender: settings.email)
    }

    /// Whether the proxy may adopt, answer from and delete the files of `record` found in
    /// `directory`: the store marks it as written through SyftBox as this proxy's identity, and
    /// `directory` is its own folder.
    func owns(_ record: RPCRecord, in directory: String) -> Bool {
        record.syftBoxSender == settings.email && ownDirectory(of: record) == directory
    }

    // MARK: Waiting state

    /// Adds (or, for a request already waited on, updates) a pending entry; the folder's watch
    /// is added when the first request starts waiting in it. `keepLease`: an entry already
    /// there keeps its lease (the sweep adopting a request this replica holds).
    private func startWaiting(_ id: String, _ file: PendingFile, in folder: Folder, keepLease: Bool = false) {
        let failure = state.withLock { state -> SyftBoxError? in
            if var existing = state.pending[id] {
                if !keepLease { existing.leaseToken = file.leaseToken }
                existing.deadline = file.deadline
                state.pending[id] = existing
                return nil
            }
            state.pending[id] = file
            if var use = state.folders[file.directory] {
                use.waiting += 1
                if use.folder.identity != folder.identity {
                    // The path names another folder than the one opened before: follow it.
                    use.folder = folder
                    watcher?.unwatch(file.directory)
                    state.folders[file.directory] = use
                    return watchError(folder)
                }
                state.folders[file.directory] = use
                return nil
            }
            state.folders[file.directory] = FolderUse(folder: folder, waiting: 1)
            // inotify_add_watch through the open descriptor: no storage I/O, safe under the lock,
            // which keeps "watched" and "someone waits here" in step.
            return watchError(folder)
        }
        if let failure {
            logger.warning("cannot watch a SyftBox folder; its answers are found by polling", metadata: ["error": "\(failure)"])
        }
    }

    private func watchError(_ folder: Folder) -> SyftBoxError? {
        do { try watcher?.watch(folder) } catch { return error }
        return nil
    }

    /// Forgets a pending entry; the folder's watch goes with the last request waiting in it.
    /// Returns the folder, for removing the request's files.
    private func stopWaiting(_ id: String) -> Folder? {
        state.withLock { state in
            guard let file = state.pending.removeValue(forKey: id), var use = state.folders[file.directory] else { return nil }
            use.waiting -= 1
            if use.waiting <= 0 {
                state.folders[file.directory] = nil
                watcher?.unwatch(file.directory)
            } else {
                state.folders[file.directory] = use
            }
            return use.folder
        }
    }

    /// Opens every folder requests wait in again by its path: one that now names another
    /// folder (removed and made again) is followed, and its watch moves with it.
    func refreshFolders() async {
        let folders = state.withLock { $0.folders.mapValues(\.folder) }
        guard !folders.isEmpty else { return }
        let datasites = settings.datasites
        let prefix = datasites.hasSuffix("/") ? datasites : datasites + "/"
        let reopened = (try? await io { () -> [String: Folder] in
            var reopened: [String: Folder] = [:]
            guard let root = try? FilePath.openRoot(datasites) else { return reopened }
            for (directory, folder) in folders where directory.hasPrefix(prefix) {
                let components = directory.dropFirst(prefix.count).split(separator: "/").map(String.init)
                if let current = try? root.descend(components, create: false), current.identity != folder.identity {
                    reopened[directory] = current
                }
            }
            return reopened
        }) ?? [:]
        let failures = state.withLock { state -> [SyftBoxError] in
            var failures: [SyftBoxError] = []
            for (directory, use) in state.folders {
                if let current = reopened[directory], current.identity != use.folder.identity {
                    state.folders[directory]?.folder = current
                    watcher?.unwatch(directory)
                    if let failure = watchError(current) { failures.append(failure) }
                } else if let failure = watchError(use.folder) {
                    // A watch dropped by the kernel (IN_IGNORED) is added again.
                    failures.append(failure)
                }
            }
            return failures
        }
        for failure in failures { logger.debug("cannot watch a SyftBox folder", metadata: ["error": "\(failure)"]) }
    }

    private func claim(_ id: String) -> (PendingFile, Folder)? {
        state.withLock { state in
            guard var file = state.pending[id], let folder = state.folders[file.directory]?.folder else { return nil }
            if file.claimed {
                state.pending[id]?.lookAgain = true
                return nil
            }
            file.claimed = true
            file.lookAgain = false
            state.pending[id] = file
            return (file, folder)
        }
    }

    /// Releases a claim; true when another look was asked for while it was held.
    private func unclaim(_ id: String) -> Bool {
        state.withLock { state in
            guard var file = state.pending[id] else { return false }
            let again = file.lookAgain
            file.claimed = false
            file.lookAgain = false
            state.pending[id] = file
            return again
        }
    }

    // MARK: Files

    struct FileNames: Sendable {
        var request: String
        var response: String
        /// syft-rpc's marker for a request file the SyftBox server refused.
        var rejected: String

        func filter(_ isIncluded: (String) -> Bool) -> [String] { [request, response, rejected].filter(isIncluded) }
    }

    static func fileNames(_ id: String) -> FileNames {
        FileNames(request: id + ".request", response: id + ".response", rejected: id + rejectedSuffix)
    }

    static let rejectedSuffix = ".syftrejected.request"

    /// The request id an answer file or rejection marker is named after.
    static func requestID(inAnswerOrMarker name: String) -> String? {
        let id: Substring
        if name.hasSuffix(rejectedSuffix) {
            id = name.dropLast(rejectedSuffix.count)
        } else if name.hasSuffix(".response") {
            id = name.dropLast(".response".count)
        } else {
            return nil
        }
        return SyftBoxID.isCanonical(String(id)) ? String(id) : nil
    }

    /// Removes a request's files (regular files only) from its own folder.
    func removeFiles(_ id: String, in folder: Folder) async {
        let names = Self.fileNames(id)
        _ = try? await io {
            folder.remove(names.request)
            folder.remove(names.response)
            folder.remove(names.rejected)
        }
    }

    /// Removes staging files older than a minute from `<data_dir>/.syft-proxy-staging`: what
    /// a replica that died mid-write left. Other replicas' writes in progress are younger.
    func cleanStaging(now: Double) async {
        let dataDirectory = settings.dataDirectory
        let stagingName = settings.stagingName
        let removed = (try? await io { () -> Int in
            guard let root = try? FilePath.openRoot(dataDirectory), let staging = try? root.subfolder(stagingName, create: false) else { return 0 }
            var removed = 0
            for name in staging.names() {
                guard case .regular(let modified, _) = staging.kind(of: name), now - modified > Self.stagingLeftoverAge else { continue }
                if staging.remove(name) { removed += 1 }
            }
            return removed
        }) ?? 0
        if removed > 0 { logger.info("removed SyftBox staging leftovers", metadata: ["count": "\(removed)"]) }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = self[...]
        while text.first?.isWhitespace == true { text = text.dropFirst() }
        while text.last?.isWhitespace == true { text = text.dropLast() }
        return String(text)
    }
}
