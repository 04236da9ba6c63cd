/// SyftBox's rule for an identity in a syft:// URL: `[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9-.]+`.
/// Stricter than the proxy's own rule (one '@'): the domain needs a dot, so `bob@localhost`
/// cannot be reached through a datasites folder.
public enum SyftBoxIdentity {
    public static func isValid(_ text: String) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard parts.count == 2, let local = parts.first, let domain = parts.last,
            !local.isEmpty, local.allSatisfy(isLocalByte)
        else { return false }
        guard let dot = domain.firstIndex(of: UInt8(ascii: ".")) else { return false }
        let firstLabel = domain[domain.startIndex..<dot]
        let rest = domain[domain.index(after: dot)...]
        return !firstLabel.isEmpty && firstLabel.allSatisfy(isLabelByte)
            && !rest.isEmpty && rest.allSatisfy { isLabelByte($0) || $0 == UInt8(ascii: ".") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isLocalByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: "-")
    }

    private static func isLabelByte(_ byte: UInt8) -> Bool { isAlphanumeric(byte) || byte == UInt8(ascii: "-") }
}
