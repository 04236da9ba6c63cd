import HummingbirdTesting
import Testing
import SyftProxyCore
import SyftProxyServer

/// Push URLs pointing at link-local networks and cloud metadata services are refused at
/// registration, however the address is spelled.
@Suite struct PushPolicyRouteTests {
    static let deniedByDefault = [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254:80/",
        "HTTP://169.254.169.254/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[FD00:EC2:0:0:0:0:0:254]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://2852039166/",
        "http://0251.0376.0251.0376/",
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://0xA9FEA9FE/",
        "http://169.254.43518/",
        "http://169.254.169.254./",
        "http://a@169.254.169.254/",
        "http://a:b@169.254.169.254:8080/rpc",
        "http://100.100.100.200/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fe80::1%25eth0]/",
        "https://169.254.169.254/",
        "http://0.0.0.0:9000/",
    ]

    @Test(arguments: deniedByDefault)
    func metadataAndLinkLocalAddressesAreRefused(url: String) async throws {
        try await withProxy { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let answer = try await client.put("/rpc/apps/calculator/endpoint", ["destination": "bob@example.com", "url": .string(url)])
            #expect(answer.status == .unprocessableContent, "\(url) was accepted")
            let issue = answer.json?["detail"]?.arrayValue?.first
            #expect(issue?["loc"] == ["body", "url"])
            let message = issue?["msg"]?.stringValue ?? ""
            #expect(message.contains("PROXY_PUSH_ALLOW_NETWORKS"), "\(url): \(message)")
            #expect(message.contains("/"), "\(url): the message names no network: \(message)")
            #expect(try await environment.store.pushEndpoint(appName: "calculator", destination: "bob@example.com") == nil)
        }
    }

    @Test(arguments: ["http://127.0.0.1:9/rpc", "http://10.1.2.3:8080/rpc", "http://192.168.1.20/rpc", "http://[::1]:9000/rpc",
                      "http://calculator.apps.svc.cluster.local:9000/rpc", "https://example.com/rpc", "http://172.16.0.5/"])
    func loopbackPrivateAndNamedURLsStayAllowed(url: String) async throws {
        try await withProxy { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let answer = try await client.put("/rpc/apps/calculator/endpoint", ["destination": "bob@example.com", "url": .string(url)])
            #expect(answer.status == .ok, "\(url): \(answer.json?.compactString ?? "")")
            #expect(try await environment.store.pushEndpoint(appName: "calculator", destination: "bob@example.com") == url)
        }
    }
}
