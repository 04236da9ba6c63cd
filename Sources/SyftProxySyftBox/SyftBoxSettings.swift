/// Where the SyftBox datasites folder is and who the proxy writes as there.
public struct SyftBoxSettings: Sendable, Equatable {
    /// The folder holding `datasites/` (PROXY_SYFTBOX_DATA_DIR), the sync client's data_dir.
    public var dataDirectory: String
    /// The identity the proxy writes request files as (PROXY_SYFTBOX_EMAIL). Under SyftBox sync
    /// it must be the identity the sync client is logged in as, or the server refuses the files.
    public var email: String
    /// How often pending answers are looked for when no file event arrives
    /// (PROXY_SYFTBOX_POLL_INTERVAL); file events make the usual case immediate.
    public var pollInterval: Double
    /// How long an answer file may stay unreadable (a responder still writing it in place)
    /// before the request fails.
    public var unreadableGrace: Double
    /// Answer files larger than this fail the request instead of being read.
    public var maximumAnswerBytes: Int

    public init(dataDirectory: String, email: String, pollInterval: Double = 0.5, unreadableGrace: Double = 2,
                maximumAnswerBytes: Int = 16 << 20) {
        self.dataDirectory = dataDirectory
        self.email = email
        self.pollInterval = pollInterval
        self.unreadableGrace = unreadableGrace
        self.maximumAnswerBytes = maximumAnswerBytes
    }

    public var datasites: String { FilePath.join(dataDirectory, "datasites") }

    /// Where request files are written before being renamed into datasites/.
    var stagingDirectory: String { FilePath.join(dataDirectory, stagingName) }
    var stagingName: String { ".syft-proxy-staging" }
}
