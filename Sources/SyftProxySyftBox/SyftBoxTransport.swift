import Logging
import Synchronization
import SyftProxyCore

/// The third delivery mode: a request for a SyftBox app becomes a syft-rpc request file in the
/// datasites folder, and the app's response file becomes the answer.
///
/// The forwarder hands over leased deliveries; writing the file takes microseconds, so no
/// forwarder slot is held while the app works. This object then waits for the answer file
/// (inotify, with polling as the safety net), keeps the lease alive meanwhile, and removes
/// both files when the request ends. A replica that dies leaves its lease to expire: the
/// delivery comes back to another replica sharing the folder, which finds the request file
/// already written and simply waits for the answer.
public final class SyftBoxTransport: Sendable {
    public let settings: SyftBoxSettings
    let store: any RPCStore
    let leaseSeconds: Double
    let logger: Logger
    let onFinished: @Sendable (RPCRecord) -> Void
    let watcher: DirectoryWatcher?
    private let pending = Mutex<[String: PendingFile]>([:])

    struct PendingFile: Sendable {
        var directory: String
        var deadline: Double
        /// The lease this replica holds on the request (renewed while waiting, handed back on
        /// shutdown); nil for a delivery that was never leased.
        var leaseToken: String?
        /// When the answer file was first seen incomplete or malformed.
        var unreadableSince: Double?
        /// Set while one task reads the answer, so an event and a poll don't both record it.
        var claimed = false
        /// Someone asked for a look while the claim was held.
        var lookAgain = false
    }

    public init(settings: SyftBoxSettings, store: any RPCStore, leaseSeconds: Double, logger: Logger,
                onFinished: @escaping @Sendable (RPCRecord) -> Void = { _ in }) {
        self.settings = settings
        self.store = store
        self.leaseSeconds = leaseSeconds
        self.logger = logger
        self.onFinished = onFinished
        self.watcher = DirectoryWatcher.make()
    }

    /// Requests whose answer file this replica is waiting for.
    public var pendingCount: Int { pending.withLock { $0.count } }

    /// Whether file events are on; without them answers are found by polling only.
    public var watchesFiles: Bool { watcher != nil }

    /// Whether `destination` runs `appName` on this datasites folder (syft-event creates the
    /// app's `rpc/` folder when it starts).
    public func hasAppFolder(destination: String, appName: String) -> Bool {
        guard SyftBoxIdentity.isValid(destination), SyftBoxEndpoint.isFolderName(appName) else { return false }
        return FilePath.isDirectory(SyftBoxEndpoint.appRPCDirectory(datasites: settings.datasites, destination: destination, appName: appName))
    }

    public func schema(appName: String, destination: String?) -> JSONValue? {
        SyftBoxSchema.read(datasites: settings.datasites, appName: appName, destination: destination)
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
        let directory = endpoint.senderDirectory(datasites: settings.datasites, sender: settings.email)
        // Waiting starts before the file exists, so an app that answers at once finds both the
        // watch and the pending entry in place.
        pending.withLock { $0[record.id] = PendingFile(directory: directory, deadline: record.deadline, leaseToken: record.leaseToken) }
        do {
            try FilePath.makeDirectories(directory)
            do { try watcher?.watch(directory) } catch {
                logger.warning("cannot watch a SyftBox folder; its answers are found by polling", metadata: ["error": "\(error)"])
            }
            let requestName = record.id + ".request"
            if !FilePath.exists(FilePath.join(directory, requestName)), !FilePath.exists(responsePath(record.id, in: directory)) {
                try FilePath.writeAtomically(bytes, directory: directory, name: requestName, staging: staging())
            }
        } catch {
            await refuse(record, error)
            return
        }
        await collect(record.id)
    }

    /// `<data_dir>/.syft-proxy-staging`: beside datasites/, so the sync client never sees it.
    private func staging() -> String? {
        let path = settings.stagingDirectory
        if FilePath.isDirectory(path) { return path }
        return (try? FilePath.makeDirectories(path)) != nil ? path : nil
    }

    private func refuse(_ record: RPCRecord, _ error: any Error) async {
        logger.warning("SyftBox delivery failed", metadata: ["id": "\(record.id)", "error": "\(error)"])
        await finish(record.id, directory: nil, with: .error("cannot deliver through SyftBox: \(error)"))
    }

    // MARK: Running

    /// Waits for answers until cancelled: file events as they come, and a poll every
    /// `pollInterval` that also renews leases and expires overdue requests.
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
        let leases = pending.withLock { files in
            defer { files.removeAll() }
            return files.compactMap { id, file in file.leaseToken.map { (id, $0) } }
        }
        for (id, token) in leases { try? await store.releaseLease(id: id, token: token) }
        if !leases.isEmpty { logger.info("SyftBox requests handed back on shutdown", metadata: ["count": "\(leases.count)"]) }
    }

    private func handle(_ signal: DirectoryWatcher.Signal) async {
        switch signal {
        case .overflow:
            await pollOnce(now: Timestamp.now())
        case .file(let directory, let name):
            guard name.hasSuffix(".response") else { return }
            let id = String(name.dropLast(".response".count))
            guard pending.withLock({ $0[id]?.directory == directory }) else { return }
            await collect(id)
        }
    }

    private func pollLoop() async {
        let renewEvery = max(leaseSeconds / 3, settings.pollInterval)
        let sweepFolderEvery = max(10, settings.pollInterval * 10)
        var nextRenewal = Timestamp.now() + renewEvery
        var nextFolderSweep = Timestamp.now() + min(2, sweepFolderEvery)
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
            }
        }
    }

    /// Looks for every pending answer; the safety net for missed or unavailable file events.
    func pollOnce(now: Double) async {
        let snapshot = pending.withLock { $0 }
        for (id, file) in snapshot {
            if FilePath.exists(responsePath(id, in: file.directory)) {
                if !file.claimed, watcher != nil {
                    logger.debug("SyftBox answer found by polling, not by a file event", metadata: ["id": "\(id)"])
                }
                await collect(id)
            } else if now >= file.deadline {
                await expire(id, directory: file.directory)
            }
        }
    }

    /// Keeps the store from handing a request that is still waiting on its app to another
    /// replica; a request that ended elsewhere (answered, timed out) is forgotten here.
    /// A lease taken over by another replica (this one stalled past it) means that replica now
    /// waits on the same files: this one stops waiting and leaves them alone.
    private func renewLeases() async {
        let leases = pending.withLock { files in files.compactMap { id, file in file.leaseToken.map { (id, $0) } } }
        for (id, token) in leases {
            switch try? await store.renewLease(id: id, token: token) {
            case .renewed?, nil:
                continue
            case .lost?:
                pending.withLock { _ = $0.removeValue(forKey: id) }
            case .ended?:
                if let file = pending.withLock({ $0.removeValue(forKey: id) }) { removeFiles(id, in: file.directory) }
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
            guard let file = claim(id) else { return }
            guard await readAnswer(id, file) else { return }
            again = unclaim(id)
        }
    }

    /// True when there is nothing to record yet (no file, or not a complete one).
    private func readAnswer(_ id: String, _ file: PendingFile) async -> Bool {
        let path = responsePath(id, in: file.directory)
        let outcome: FilePath.ReadOutcome
        do { outcome = try FilePath.contents(of: path, limit: settings.maximumAnswerBytes) } catch {
            if let failure = unreadable(id, path: path, reason: "\(error)", since: file.unreadableSince) {
                await finish(id, directory: file.directory, with: .error(failure))
                return false
            }
            return true
        }
        switch outcome {
        case .missing:
            return true
        case .tooLarge(let size):
            await finish(id, directory: file.directory, with: .error(
                "the SyftBox app's answer is over \(size - 1) bytes, more than the \(settings.maximumAnswerBytes)-byte limit"))
        case .contents(let bytes):
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
        pending.withLock { if $0[id]?.unreadableSince == nil { $0[id]?.unreadableSince = now } }
        return nil
    }

    /// Records the answer, then removes both files. If the store cannot be reached, the files
    /// stay and the next poll tries again; nothing is deleted before the answer is safe.
    private func finish(_ id: String, directory: String?, with answer: RPCAnswer) async {
        let outcome: AnswerOutcome
        do { outcome = try await store.answer(id: id, with: answer) } catch {
            logger.warning("cannot record a SyftBox answer; retrying", metadata: ["id": "\(id)", "error": "\(error)"])
            _ = unclaim(id)
            return
        }
        if case .accepted(let record) = outcome { onFinished(record) }
        pending.withLock { _ = $0.removeValue(forKey: id) }
        if let directory { removeFiles(id, in: directory) }
    }

    /// Past the deadline with no answer: the request fails as timed out and its file is
    /// removed, so the app does not work on a call nobody waits for any more.
    private func expire(_ id: String, directory: String) async {
        guard claim(id) != nil else { return }
        // The sweeper counts the timeout; this only makes sure the record says so before the
        // file goes.
        do { _ = try await store.expireIfOverdue(id: id) } catch {
            _ = unclaim(id)
            return
        }
        pending.withLock { _ = $0.removeValue(forKey: id) }
        removeFiles(id, in: directory)
        logger.info("SyftBox request timed out; request file removed", metadata: ["id": "\(id)"])
    }

    func isPending(_ id: String) -> Bool { pending.withLock { $0[id] != nil } }

    /// Starts waiting for a request another process wrote. The folder comes from the record,
    /// never from where a file was found: an answer counts only from the request's own
    /// `<destination>/app_data/<app>/rpc/<func>/<proxy>/` folder.
    func adopt(_ record: RPCRecord) {
        guard let directory = ownDirectory(of: record) else { return }
        pending.withLock { files in
            if files[record.id] == nil { files[record.id] = PendingFile(directory: directory, deadline: record.deadline) }
        }
    }

    /// The only folder this proxy writes the record's request into and reads its answer from;
    /// nil when SyftBox cannot address the record.
    func ownDirectory(of record: RPCRecord) -> String? {
        guard let endpoint = try? SyftBoxEndpoint(destination: record.destination, appName: record.appName, funcName: record.funcName)
        else { return nil }
        return endpoint.senderDirectory(datasites: settings.datasites, sender: settings.email)
    }

    private func claim(_ id: String) -> PendingFile? {
        pending.withLock { files in
            guard var file = files[id] else { return nil }
            if file.claimed {
                files[id]?.lookAgain = true
                return nil
            }
            file.claimed = true
            file.lookAgain = false
            files[id] = file
            return file
        }
    }

    /// Releases a claim; true when another look was asked for while it was held.
    private func unclaim(_ id: String) -> Bool {
        pending.withLock { files in
            guard var file = files[id] else { return false }
            let again = file.lookAgain
            file.claimed = false
            file.lookAgain = false
            files[id] = file
            return again
        }
    }

    func responsePath(_ id: String, in directory: String) -> String { FilePath.join(directory, id + ".response") }

    func removeFiles(_ id: String, in directory: String) {
        FilePath.remove(FilePath.join(directory, id + ".request"))
        FilePath.remove(responsePath(id, in: directory))
    }
}
