import SyftProxyCore

extension SyftBoxTransport {
    /// Looks after request files no replica is waiting on: those of a replica that died, or
    /// of this process before a restart. An expired one is removed with its answer; one whose
    /// answer has sat unclaimed longer than any live replica would leave it is recorded here.
    /// A request still waiting for its app is left alone: its lease brings it back to some
    /// replica, which then waits for the answer.
    ///
    /// Files named after a request but lying outside that request's own folder are not ours
    /// (anyone who can write to some datasite could plant them to answer someone else's
    /// request): they are logged and left untouched. So are files for ids the store does not
    /// know, unless expired.
    func sweepFolders(now: Double) async {
        let staleAnswerAge = max(5, settings.pollInterval * 4)
        for directory in senderDirectories() {
            for name in FilePath.list(directory) where name.hasSuffix(".request") && !name.hasPrefix(".") {
                let id = String(name.dropLast(".request".count))
                guard SyftBoxID.isCanonical(id), !isPending(id) else { continue }
                guard case .contents(let bytes)? = try? FilePath.contents(of: FilePath.join(directory, name), limit: 1 << 20) else { continue }
                let expiry = SyftBoxRequestFile.expiry(of: bytes)
                let expired = expiry.map { now > $0 + 1 } ?? false
                let answered = FilePath.modificationTime(responsePath(id, in: directory)).map { now - $0 >= staleAnswerAge } ?? false
                // Files still waiting for their app need no look at the store.
                guard expired || answered else { continue }
                let lookup: RPCRecord?
                do { lookup = try await store.record(id: id) } catch { continue }
                if let record = lookup, ownDirectory(of: record) != directory {
                    logger.warning("ignoring SyftBox files outside their request's own folder", metadata: [
                        "id": "\(id)", "folder": "\(directory)", "expected_folder": "\(ownDirectory(of: record) ?? "none")",
                    ])
                    continue
                }
                if expired {
                    removeFiles(id, in: directory)
                    logger.info("removed an expired SyftBox request file", metadata: ["id": "\(id)", "folder": "\(directory)"])
                    continue
                }
                guard let record = lookup else { continue }
                logger.info("recording a SyftBox answer its writer left behind", metadata: ["id": "\(id)", "folder": "\(directory)"])
                adopt(record)
                await collect(id)
            }
        }
    }

    /// Every `<datasites>/<identity>/app_data/<app>/rpc/**/<proxy identity>/` folder.
    func senderDirectories() -> [String] {
        var found: [String] = []
        let datasites = settings.datasites
        for destination in FilePath.list(datasites) where SyftBoxIdentity.isValid(destination) {
            let appData = FilePath.join(datasites, destination, "app_data")
            for app in FilePath.list(appData) {
                collectSenderDirectories(under: FilePath.join(appData, app, "rpc"), depth: 0, into: &found)
            }
        }
        return found
    }

    private func collectSenderDirectories(under directory: String, depth: Int, into found: inout [String]) {
        for name in FilePath.list(directory) where !name.hasPrefix(".") {
            let path = FilePath.join(directory, name)
            guard FilePath.isDirectory(path) else { continue }
            if name == settings.email {
                found.append(path)
            } else if depth < 8 {
                collectSenderDirectories(under: path, depth: depth + 1, into: &found)
            }
        }
    }
}
