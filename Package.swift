// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "syft-proxy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "syft-proxy", targets: ["SyftProxyCLI"]),
        .library(name: "SyftProxyCore", targets: ["SyftProxyCore"]),
        .library(name: "SyftProxyServer", targets: ["SyftProxyServer"]),
        .library(name: "SyftProxyClient", targets: ["SyftProxyClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        // WSCore runs the server's sockets behind the proxy's own upgrade channel (WebSocket/).
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        // SHA-256 for Idempotency-Key digests. The range admits 4.x, which the rest of the graph
        // (swift-nio-extras, swift-certificates) already resolves to; `from: "3.12.3"` would hold it at 3.x.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // Models, validation, SyftBox URLs and the store protocol: no I/O, no server.
        .target(
            name: "SyftProxyCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // The embedded store used when no Redis is configured.
        .target(
            name: "SyftProxyMemoryStore",
            dependencies: ["SyftProxyCore", .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: strict
        ),
        // hiredis, for reply parsing, and the reference the tests hold command frames to.
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // A Redis client for SwiftNIO servers: commands written as RESP into NIO buffers, hiredis parses, NIO does the I/O.
        .target(
            name: "SyftProxyRedis",
            dependencies: [
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The shared store: request state and queues in Redis, transitions as Lua scripts.
        .target(
            name: "SyftProxyRedisStore",
            dependencies: [
                "SyftProxyCore",
                "SyftProxyRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // SyftBox file transport: requests as syft-rpc files in a datasites folder, answers
        // picked up by inotify with polling as the fallback.
        .target(
            name: "SyftProxySyftBox",
            dependencies: [
                "SyftProxyCore",
                .product(name: "Logging", package: "swift-log"),
                // NIOThreadPool: file I/O runs on the transport's own threads.
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Compiles the OpenAPI document (Sources/SyftProxyServer/Resources/openapi.json) into
        // the server as a Swift literal: the binary then needs no resource bundle beside it.
        .executableTarget(name: "OpenAPIEmbed", path: "Sources/OpenAPIEmbed"),
        .plugin(
            name: "OpenAPIEmbedPlugin",
            capability: .buildTool(),
            dependencies: ["OpenAPIEmbed"],
            path: "Sources/OpenAPIEmbedPlugin"
        ),
        // HTTP API, push forwarder and background sweeper; knows stores only through the protocol.
        .target(
            name: "SyftProxyServer",
            dependencies: [
                "SyftProxyCore",
                "SyftProxySyftBox",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "WSCore", package: "swift-websocket"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Resources/openapi.json", "Resources/dashboard"],
            swiftSettings: strict,
            plugins: ["OpenAPIEmbedPlugin"]
        ),
        // For apps: a load-balancing client, batch calls, schema discovery, and the app SDK.
        .target(
            name: "SyftProxyClient",
            dependencies: [
                "SyftProxyCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "SyftProxyCLI",
            dependencies: [
                "SyftProxyCore",
                "SyftProxyClient",
                "SyftProxyMemoryStore",
                "SyftProxyRedisStore",
                "SyftProxyRedis",
                "SyftProxyServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The benchmark: `swift run -c release syft-proxy-bench` (see README, Performance).
        .executableTarget(
            name: "syft-proxy-bench",
            dependencies: [
                "SyftProxyCore",
                "SyftProxyRedis",
                "SyftProxyTestSupport",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/SyftProxyBench"
        ),
        // Examples: App B serving a calculator, App A calling it (see README).
        .executableTarget(
            name: "calculator-app",
            dependencies: ["SyftProxyClient", "SyftProxyCore"],
            path: "examples/calculator-app"
        ),
        .executableTarget(
            name: "calculator-client",
            dependencies: ["SyftProxyClient", "SyftProxyCore"],
            path: "examples/calculator-client"
        ),
        .testTarget(
            name: "SyftProxyCoreTests",
            dependencies: ["SyftProxyCore"]
        ),
        .testTarget(
            name: "SyftProxySyftBoxTests",
            dependencies: ["SyftProxyCore", "SyftProxySyftBox", "SyftProxyMemoryStore", "SyftProxyTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SyftProxyStoreTests",
            dependencies: ["SyftProxyCore", "SyftProxyMemoryStore", "SyftProxyRedisStore", "SyftProxyRedis", "SyftProxyTestSupport"]
        ),
        .testTarget(
            name: "SyftProxyRedisTests",
            dependencies: [
                "SyftProxyRedis",
                "SyftProxyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SyftProxyClientTests",
            dependencies: [
                "SyftProxyClient",
                "SyftProxyCore",
                "SyftProxyTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "SyftProxyClusterTests",
            dependencies: [
                "SyftProxyCore",
                "SyftProxyTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SyftProxyServerTests",
            dependencies: [
                "SyftProxyCore",
                "SyftProxyMemoryStore",
                "SyftProxyServer",
                "SyftProxyTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
        // Processes the end-to-end suites drive: proxy replicas, throwaway redis-servers and
        // nats-servers, and the NATS client the benchmark's request-reply anchor runs on.
        .target(
            name: "SyftProxyTestSupport",
            dependencies: [
                "SyftProxyCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/SyftProxyTestSupport"
        ),
        .testTarget(
            name: "SyftProxyEndToEndTests",
            dependencies: [
                "SyftProxyCore",
                "SyftProxyTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
