import SyftProxyCore

extension SyftBoxTransport {
    /// A file of the proxy's folders that no request here waits on, and that may need a look.
    struct SweepFinding: Sendable {
        enum Kind: Sendable, Equatable {
            /// `<id>.request`, past its `expires`, or answered long enough ago that no live
            /// replica is waiting on it.
            case request(expired: Bool)
            /// `<id>.syftrejected.request`: the SyftBox server refused the request file.
            case rejected
            /// `<id>.response` without its request (the request timed out and its file went,
            /// then the app answered), unclaimed long enough.
            case answerOnly
        }

        var folder: Folder
        var id: String
        var kind: Kind
    }

    /// Looks after the proxy's own request files no replica is waiting on: those of a replica
    /// that died, or of this process before a restart. An expired one is removed with its
    /// answer; one whose answer has sat unclaimed longer than any live replica would leave it
    /// is recorded here, as is a rejection marker; a late answer to a request that ended is
    /// removed. A request still waiting for its app is left alone: its lease brings it back to
    /// some replica, which then waits for the answer.
    ///
    /// Only files of a request the store marks as written through SyftBox by this proxy
    /// (``RPCRecord/syftBoxSender``), lying in that request's own folder, are touched. Files
    /// for ids the store does not know (a syft-rpc client using the proxy's identity, as the
    /// same user's notebook would) or for requests the proxy never wrote there are left alone,
    /// expired or not, however many sweeps see them.
    func sweepFolders(now: Double) async {
        let staleAnswerAge = max(5, settings.pollInterval * 4)
        let waiting = state.withLock { Set($0.pending.keys) }
        let datasites = settings.datasites
        let email = settings.email
        let limit = settings.maximumAnswerBytes
        let findings = (try? await io {
            Self.findFiles(datasites: datasites, email: email, skipping: waiting, now: now, staleAnswerAge: staleAnswerAge, limit: limit)
        }) ?? []
        for finding in findings where !isPending(finding.id) {
            let lookup: RPCRecord?
            do { lookup = try await store.record(id: finding.id) } catch { continue }
            guard let record = lookup, owns(record, in: finding.folder.path) else {
                if let record = lookup {
                    // Someone who knows a request id planted files for it (in another folder,
                    // or for a request the proxy never delivered through SyftBox).
                    logger.warning("ignoring SyftBox files the proxy did not write for this request", metadata: [
                        "id": "\(finding.id)", "folder": "\(finding.folder.path)",
                        "expected_folder": "\(record.syftBoxSender == settings.email ? ownDirectory(of: record) ?? "none" : "none: not delivered through SyftBox")",
                    ])
                } else {
                    logger.debug("leaving SyftBox files of a request id the store does not know", metadata: ["id": "\(finding.id)", "folder": "\(finding.folder.path)"])
                }
                continue
            }
            switch finding.kind {
            case .request(expired: true):
                await removeFiles(finding.id, in: finding.folder)
                logger.info("removed an expired SyftBox request file", metadata: ["id": "\(finding.id)", "folder": "\(finding.folder.path)"])
            case .answerOnly where record.state.isFinal:
                await removeFiles(finding.id, in: finding.folder)
                logger.info("removed a SyftBox answer that came after its request ended", metadata: ["id": "\(finding.id)", "folder": "\(finding.folder.path)"])
            case .request(expired: false), .rejected, .answerOnly:
                logger.info("recording a SyftBox answer its writer left behind", metadata: ["id": "\(finding.id)", "folder": "\(finding.folder.path)"])
                adopt(record, in: finding.folder)
                await collect(finding.id)
            }
        }
    }

    /// Walks every `<datasites>/<identity>/app_data/<app>/rpc/**/<proxy identity>/` folder,
    /// opening each folder without following links (a link anywhere is skipped), and reads
    /// only regular files (a FIFO is skipped at once). Blocking: runs on the file threads.
    /// Staging files the proxy left beside a destination (`.<name>.<pid>.<n>.syft-proxy.tmp`,
    /// written when staging is on another file system) older than a minute are removed.
    static func findFiles(datasites: String, email: String, skipping waiting: Set<String>, now: Double,
                          staleAnswerAge: Double, limit: Int) -> [SweepFinding] {
        guard let root = try? FilePath.openRoot(datasites) else { return [] }
        var findings: [SweepFinding] = []
        for destination in root.entries() where destination.mayBeFolder && SyftBoxIdentity.isValid(destination.name) {
            guard let appData = try? root.descend([destination.name, "app_data"], create: false) else { continue }
            for app in appData.entries() where app.mayBeFolder && SyftBoxEndpoint.isFolderName(app.name) {
                guard let rpc = try? appData.descend([app.name, "rpc"], create: false) else { continue }
                forEachSenderFolder(under: rpc, email: email, depth: 0) { folder in
                    inspect(folder, skipping: waiting, now: now, staleAnswerAge: staleAnswerAge, limit: limit, into: &findings)
                }
            }
        }
        return findings
    }

    private static func forEachSenderFolder(under folder: Folder, email: String, depth: Int, _ body: (Folder) -> Void) {
        for entry in folder.entries() where entry.mayBeFolder && !entry.name.hasPrefix(".") {
            guard let child = try? folder.subfolder(entry.name, create: false) else { continue }
            if entry.name == email {
                body(child)
            } else if depth < 8 {
                forEachSenderFolder(under: child, email: email, depth: depth + 1, body)
            }
        }
    }

    private static func inspect(_ folder: Folder, skipping waiting: Set<String>, now: Double, staleAnswerAge: Double, limit: Int,
                                into findings: inout [SweepFinding]) {
        let names = folder.names()
        let present = Set(names)
        func answeredLongAgo(_ id: String) -> Bool {
            guard case .regular(let modified, _) = folder.kind(of: id + ".response") else { return false }
            return now - modified >= staleAnswerAge
        }
        for name in names {
            if name.hasSuffix(rejectedSuffix) {
                let id = String(name.dropLast(rejectedSuffix.count))
                guard SyftBoxID.isCanonical(id), !waiting.contains(id), case .regular = folder.kind(of: name) else { continue }
                findings.append(SweepFinding(folder: folder, id: id, kind: .rejected))
            } else if name.hasSuffix(".request") {
                let id = String(name.dropLast(".request".count))
                guard SyftBoxID.isCanonical(id), !waiting.contains(id) else { continue }
                // Not a regular file (a FIFO, a link): refused by read, skipped.
                guard case .contents(let bytes)? = try? folder.read(name, limit: limit) else { continue }
                let expired = SyftBoxRequestFile.expiry(of: bytes).map { now > $0 + 1 } ?? false
                // Files still waiting for their app need no look at the store.
                if expired || answeredLongAgo(id) { findings.append(SweepFinding(folder: folder, id: id, kind: .request(expired: expired))) }
            } else if name.hasSuffix(".response") {
                let id = String(name.dropLast(".response".count))
                guard SyftBoxID.isCanonical(id), !waiting.contains(id), !present.contains(id + ".request"),
                    !present.contains(id + rejectedSuffix), answeredLongAgo(id)
                else { continue }
                findings.append(SweepFinding(folder: folder, id: id, kind: .answerOnly))
            } else if name.hasPrefix("."), name.hasSuffix(FilePath.localStagingSuffix),
                case .regular(let modified, _) = folder.kind(of: name), now - modified > stagingLeftoverAge
            {
                folder.remove(name)
            }
        }
    }
}
