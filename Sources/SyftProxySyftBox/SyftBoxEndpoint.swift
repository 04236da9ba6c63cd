/// One function of one app on one datasite, and where its files live:
/// `<datasites>/<destination>/app_data/<app>/rpc/<func>/<sender>/<id>.request|.response`.
public struct SyftBoxEndpoint: Sendable, Hashable {
    public var destination: String
    public var appName: String
    /// The endpoint path; syft-event endpoints may be nested (`user_code/create`).
    public var funcName: String

    /// Checks that every part is a safe single folder name before any path is built from it:
    /// a name like `..` or `a/../../etc` must never leave the datasites folder.
    public init(destination: String, appName: String, funcName: String) throws(SyftBoxError) {
        guard SyftBoxIdentity.isValid(destination) else {
            throw .unreachable("destination '\(destination)' is not a SyftBox identity (name@domain.tld); SyftBox cannot address it")
        }
        guard Self.isFolderName(appName) else {
            throw .unreachable("app_name '\(appName)' cannot be a SyftBox folder name: it must not contain '/', control characters or wildcards, nor be '.' or '..'")
        }
        let segments = funcName.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.isEmpty, segments.allSatisfy({ Self.isFolderName(String($0)) }) else {
            throw .unreachable("func_name '\(funcName)' cannot be a SyftBox endpoint path: each '/'-separated part must be a plain folder name, not empty, '.', '..' or a wildcard")
        }
        self.destination = destination
        self.appName = appName
        self.funcName = funcName
    }

    public var url: String { Self.appURL(destination: destination, appName: appName) + "/" + funcName }

    /// `syft://<destination>/app_data/<app>/rpc`: the app's RPC folder as a URL. The store keeps
    /// it as the pair's endpoint, which is how a pair is marked for SyftBox delivery.
    public static func appURL(destination: String, appName: String) -> String { "syft://\(destination)/app_data/\(appName)/rpc" }

    /// Whether a registered endpoint means SyftBox delivery (else it is a push URL).
    public static func isAppURL(_ endpoint: String) -> Bool { endpoint.hasPrefix("syft://") }

    public func appRPCDirectory(datasites: String) -> String {
        Self.appRPCDirectory(datasites: datasites, destination: destination, appName: appName)
    }

    /// The folder the proxy writes requests into and the app writes answers into.
    public func senderDirectory(datasites: String, sender: String) -> String {
        FilePath.join(appRPCDirectory(datasites: datasites), funcName, sender)
    }

    public static func appRPCDirectory(datasites: String, destination: String, appName: String) -> String {
        FilePath.join(datasites, destination, "app_data", appName, "rpc")
    }

    /// The folder names from the datasites folder down to the app's `rpc/` folder, each one
    /// opened in turn without following links.
    static func appRPCComponents(destination: String, appName: String) -> [String] {
        [destination, "app_data", appName, "rpc"]
    }

    /// The folder names from the datasites folder down to ``senderDirectory(datasites:sender:)``.
    func senderComponents(sender: String) -> [String] {
        Self.appRPCComponents(destination: destination, appName: appName)
            + funcName.split(separator: "/").map(String.init) + [sender]
    }

    /// A single path component that cannot escape or glob: what SyftBox folder names must be.
    public static func isFolderName(_ name: String) -> Bool {
        guard !name.isEmpty, name != ".", name != "..", name.utf8.count <= 255 else { return false }
        return !name.unicodeScalars.contains { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F || "/\\*?[]".unicodeScalars.contains(scalar)
        }
    }
}

public enum SyftBoxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request cannot be expressed as a SyftBox file; it fails at once.
    case unreachable(String)
    /// A file could not be written or read.
    case io(String)
    /// An answer file is not a syft-rpc response.
    case badAnswer(String)

    public var description: String {
        switch self {
        case .unreachable(let why), .io(let why), .badAnswer(let why): why
        }
    }
}

/// Request ids become file names, and syft-event writes its answer under the lower-case,
/// hyphenated form: anything else would leave the proxy waiting for a file that never comes.
public enum SyftBoxID {
    public static func isCanonical(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                else { return false }
            }
        }
        return true
    }
}
