import Foundation
import Hummingbird
import SyftProxyCore

extension ProxyRequestContext {
    /// A path segment, percent-decoded: the router hands segments over as sent, so an app
    /// named "my app" arrives as "my%20app" and would never meet its own requests.
    func pathParameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw APIError(validation: ValidationError(ValidationIssue([.key("path"), .key(name)], "Value error, '\(raw)' is not valid percent-encoded UTF-8", type: "value_error")))
        }
        return decoded
    }
}
