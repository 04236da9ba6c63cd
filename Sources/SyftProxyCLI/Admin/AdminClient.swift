import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOHTTP1
import SyftProxyClient
import SyftProxyCore


/// One admin call: the answer's JSON, or the API's detail on stderr and exit status 1 (2 when
/// the replica cannot be reached).
struct AdminClient {
    let options: AdminOptions

    init(_ options: AdminOptions) { self.options = options }

    func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> JSONValue {
        guard let key = options.key, !key.isEmpty else {
            throw ValidationError("an admin key is needed: pass --admin-key or set PROXY_ADMIN_KEY (one of the server's PROXY_ADMIN_KEYS)")
        }
        let base = options.url.hasSuffix("/") ? String(options.url.dropLast()) : options.url
        let answer: ProxyAnswer
        do {
            answer = try await ProxyExchange.perform(method, base + path, body: body, apiKey: key, timeout: options.timeout, client: .shared)
        } catch {
            Self.error("unreachable: \(options.url) (\(error)); is `syft-proxy serve` running there?")
            throw ExitCode(2)
        }
        guard (200..<300).contains(answer.status), let json = answer.json else {
            let detail = answer.json?["detail"].map { $0.stringValue ?? $0.compactString } ?? answer.text
            Self.error("\(answer.status): \(detail)")
            throw ExitCode(1)
        }
        return json
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~@"))) ?? text
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
