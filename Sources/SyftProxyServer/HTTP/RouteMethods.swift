import HTTPTypes
import Hummingbird
import Synchronization

/// The methods each registered path takes, read from the router once its routes are
/// registered, for the answers the route table itself cannot give: 405 with Allow for a known
/// path asked with another method, and HEAD run as GET. Neither adds a route.
final class RouteMethods: Sendable {
    private struct Entry: Sendable {
        let path: RouterPath
        var methods: [HTTPRequest.Method]
    }

    private let entries = Mutex<[Entry]>([])
    /// Paths whose GET is not safe to repeat for a HEAD (an inbox read leases what it returns).
    private let withoutHead: [RouterPath]

    init(withoutHead: [RouterPath] = []) { self.withoutHead = withoutHead }

    /// Called once, after the last route is registered.
    func install(_ routes: [Router<ProxyRequestContext>.RouteDescription]) {
        var entries: [Entry] = []
        for route in routes {
            if let index = entries.firstIndex(where: { $0.path.components == route.path.components }) {
                entries[index].methods.append(route.method)
            } else {
                entries.append(Entry(path: route.path, methods: [route.method]))
            }
        }
        self.entries.withLock { $0 = entries }
    }

    /// The methods `path` answers, HEAD included where GET is and HEAD is safe; empty when no
    /// route has this path.
    func allowed(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        guard let entry = entries.withLock({ $0.first { Self.matches($0.path, segments) } }) else { return [] }
        var methods = Self.order.filter(entry.methods.contains)
        if methods.contains(.get), !withoutHead.contains(where: { $0.components == entry.path.components }), let index = methods.firstIndex(of: .get) {
            methods.insert(.head, at: index + 1)
        }
        return methods
    }

    /// True when a HEAD on `path` may run its GET.
    func takesHead(_ path: String) -> Bool { allowed(for: path).contains(.head) }

    static let order: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .options]

    private static func matches(_ route: RouterPath, _ segments: [Substring]) -> Bool {
        var remaining = segments[...]
        for component in route.components {
            if component == .recursiveWildcard { return true }
            guard let segment = remaining.popFirst(), component ~= segment else { return false }
        }
        return remaining.isEmpty
    }
}
