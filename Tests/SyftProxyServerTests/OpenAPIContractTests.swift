import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SyftProxyCore
@testable import SyftProxyServer
import Testing

/// The served document against the code: the routes the router registers, and the limits the
/// validators enforce, at settings other than the defaults so a literal cannot pass for a
/// placeholder.
@Suite struct OpenAPIContractTests {
    static func configure(_ configuration: inout ProxyConfiguration) {
        configuration.maxTimeout = 20
        configuration.timeout = 5
        configuration.maxParamsBytes = 12_345
        configuration.syftBoxDataDirectory = "/nonexistent/syftbox"
        configuration.syftBoxEmail = "proxy@example.com"
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "options", "trace"]

    /// Every operation of a document as "METHOD /path", HEAD left out: it follows GET.
    static func operations(of document: JSONValue) -> Set<String> {
        var operations: Set<String> = []
        for path in document["paths"]?.objectValue?.members ?? [] {
            for method in path.value.objectValue?.keys ?? [] where methods.contains(method) {
                operations.insert("\(method.uppercased()) \(path.key)")
            }
        }
        return operations
    }

    /// Every value of `key` anywhere in the document.
    static func values(of key: String, in value: JSONValue) -> [JSONValue] {
        switch value {
        case .object(let object):
            object.members.flatMap { ($0.key == key ? [$0.value] : []) + values(of: key, in: $0.value) }
        case .array(let items):
            items.flatMap { values(of: key, in: $0) }
        default:
            []
        }
    }

    static func strings(in value: JSONValue) -> [String] {
        switch value {
        case .string(let text): [text]
        case .object(let object): object.members.flatMap { strings(in: $0.value) }
        case .array(let items): items.flatMap { strings(in: $0) }
        default: []
        }
    }

    @Test func everyRegisteredRouteIsDocumentedAndEveryDocumentedOperationIsRegistered() async throws {
        try await withProxy(Self.configure) { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let registered = Set(ProxyServer.makeRouter(environment: environment).routes
                .filter { $0.method != .head }
                .map { "\($0.method.rawValue) \($0.path.description)" })
            let document = try #require(try await client.get("/openapi.json").json)
            let documented = Self.operations(of: document)
            #expect(registered.subtracting(documented).sorted() == [], "registered but not documented")
            #expect(documented.subtracting(registered).sorted() == [], "documented but not registered")
            #expect(registered.count >= 15)
        }
    }

    @Test func servedLimitsAreTheOnesTheValidatorsEnforce() async throws {
        try await withProxy(Self.configure) { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let response = try await client.get("/openapi.json")
            #expect(response.status == .ok)
            let document = try #require(response.json)
            let configuration = environment.configuration
            let schemas = try #require(document["components"]?["schemas"])
            for name in ["RPCSendRequest", "RPCBroadcastRequest"] {
                let timeout = try #require(schemas[name]?["properties"]?["timeout"])
                #expect(timeout["maximum"]?.doubleValue == configuration.maxTimeout, "\(name).timeout")
                #expect(timeout["default"]?.doubleValue == configuration.timeout, "\(name).timeout")
                #expect(schemas[name]?["properties"]?["headers"]?["maxProperties"]?.intValue == Validation.maximumHeaderCount)
            }
            #expect(schemas["RPCSendRequest"]?["properties"]?["app_name"]?["maxLength"]?.intValue == Validation.maximumNameLength)
            #expect(schemas["RPCSendRequest"]?["properties"]?["destination"]?["maxLength"]?.intValue == Validation.maximumIdentityLength)
            #expect(schemas["RPCBroadcastRequest"]?["properties"]?["destinations"]?["maxItems"]?.intValue == Validation.maximumDestinations)
            #expect(schemas["EndpointRegistration"]?["properties"]?["transport"]?["enum"] == ["push", "syftbox"])

            let inbox = try #require(document["paths"]?["/rpc/inbox/{app_name}"]?["get"]?["parameters"]?.arrayValue)
            let max = try #require(inbox.first { $0["name"] == "max" }?["schema"])
            #expect(max["maximum"]?.intValue == DeliveryRoutes.maximumBatch)
            #expect(max["default"]?.intValue == DeliveryRoutes.defaultBatch)
            #expect(inbox.first { $0["name"] == "wait" }?["schema"]?["maximum"]?.doubleValue == configuration.maxTimeout)

            let connect = try #require(document["paths"]?["/rpc/connect/{app_name}"]?["get"])
            let concurrency = try #require(connect["parameters"]?.arrayValue?.first { $0["name"] == "concurrency" }?["schema"])
            #expect(concurrency["maximum"]?.intValue == WebSocketLimits.maximumConcurrency)
            #expect(concurrency["default"]?.intValue == WebSocketLimits.defaultConcurrency)
            let answers: [String] = connect["responses"]?.objectValue?.keys ?? []
            #expect(Set(["101", "401", "403", "422", "426"]).subtracting(answers).isEmpty, "\(answers)")
            #expect(connect["description"]?.stringValue?.contains("every \(WebSocketLimits.pingSeconds) s") == true)
            for frame in ["SocketAnswer", "SocketRefusal"] { #expect(schemas[frame]?["description"] != nil, "\(frame)") }

            // Every bound of the document, wherever it is, is one of the constants.
            let bounds: [String: Set<Double>] = [
                "maxLength": [Double(Validation.maximumNameLength), Double(Validation.maximumIdentityLength)],
                "maxItems": [Double(Validation.maximumDestinations)],
                "maxProperties": [Double(Validation.maximumHeaderCount)],
                "maximum": [configuration.maxTimeout, Double(DeliveryRoutes.maximumBatch), Double(WebSocketLimits.maximumConcurrency)],
            ]
            for (key, allowed) in bounds {
                let found = Self.values(of: key, in: document)
                #expect(!found.isEmpty, "\(key)")
                for value in found { #expect(value.doubleValue.map(allowed.contains) == true, "\(key): \(value.compactString)") }
            }
            // Limits named in prose are this replica's too.
            let text = Self.strings(in: document).joined(separator: "\n")
            #expect(text.contains("at most 20 (PROXY_MAX_TIMEOUT); the default is 5 (PROXY_TIMEOUT)"))
            #expect(text.contains("At most 12345 bytes (PROXY_MAX_PARAMS_BYTES)"))
            #expect(text.contains("Body over \(configuration.maxBodyBytes) bytes"))
            #expect(text.contains("\(Validation.maximumHeaderCount) of them and \(Validation.maximumHeaderBytes) bytes"))
            #expect(!text.contains("${"), "a placeholder was left unfilled")
        }
    }

    /// JSON Schema's maxLength counts code points; so does the inbox's check of its path name.
    /// A name of 100 letters with combining accents is 100 characters but 200 code points.
    @Test func anInboxAppNameIsMeasuredInCodePointsAsTheDocumentMeasuresIt() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let accented = String(repeating: "e\u{301}", count: 100)
            #expect(accented.count == 100 && accented.unicodeScalars.count == 200)
            let encoded = try #require(accented.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed))
            let response = try await client.get("/rpc/inbox/\(encoded)?destination=bob@example.com")
            #expect(response.status == .unprocessableContent, "answered \(response.status.code)")
            #expect(response.json?["detail"]?.arrayValue?.first?["loc"] == ["path", "app_name"])
        }
    }

    /// The template states no bound itself: each is a placeholder, so the value has one source.
    @Test func theTemplateWritesNoBoundAsALiteral() throws {
        let template = try JSONParser.parse(OpenAPITemplate.text)
        for key in ["maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum"] {
            for value in Self.values(of: key, in: template) {
                let text = value.stringValue ?? ""
                #expect(text.hasPrefix("${") && text.hasSuffix("}"), "\(key) is \(value.compactString) in openapi.json; use a placeholder")
            }
        }
    }

    /// The documented RPCStatus is the document the server writes and the client reads.
    @Test func theRPCStatusSchemaIsTheStatusDocument() throws {
        let template = try JSONParser.parse(OpenAPITemplate.text)
        let schema = try #require(template["components"]?["schemas"]?["RPCStatus"])
        let written = RPCStatusDocument(
            id: "r1", appName: "a", funcName: "f", destination: "bob@example.com", sender: nil, state: .pending,
            result: nil, error: nil, createdAt: 0, updatedAt: 0, completedAt: nil, attempts: 0
        ).json
        let members = try #require(written.objectValue?.keys)
        #expect(schema["properties"]?.objectValue?.keys == members)
        #expect(schema["required"]?.arrayValue?.compactMap(\.stringValue) == members)
        #expect(schema["properties"]?["status"]?["enum"] == .array(RPCState.allCases.map { .string($0.rawValue) }))
    }

    @Test func anUnknownPlaceholderIsAnErrorThatNamesIt() {
        #expect(throws: OpenAPIDocument.RenderError.self) {
            try OpenAPIDocument.render(#"{"a": "at most ${nope} s"}"#, values: [:])
        }
        let filled = try? OpenAPIDocument.render(#"{"a": "${n}", "b": "n is ${n}."}"#, values: ["n": .int(7)])
        #expect(filled == ["a": 7, "b": "n is 7."])
    }
}
