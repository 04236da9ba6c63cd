// App A: calls the calculator app through the proxy cluster and prints what it gets.
//   swift run calculator-client                   # against http://localhost:8000
import Foundation
import SyftProxyClient
import SyftProxyCore

let environment = ProcessInfo.processInfo.environment
let urls = (environment["SYFT_PROXY_URLS"] ?? "http://localhost:8000").split(separator: ",").map(String.init)
let identity = environment["SYFT_IDENTITY"] ?? "bob@example.com"
let client = ProxyClient(urls: urls, apiKey: environment["SYFT_API_KEY"])

do {
    let functions = try await ServiceRegistry(client: client).functions(of: "calculator")
    print("calculator offers: \(functions.joined(separator: ", "))")

    let sum = try await client.call(app: "calculator", function: "add", destination: identity, params: ["a": 5, "b": 3])
    print("add(5, 3) = \(sum.compactString)")

    let id = try await client.submit(app: "calculator", function: "multiply", destination: identity, params: ["a": 6, "b": 7])
    print("multiply(6, 7) = \(try await client.waitForResult(id).compactString)  (non-blocking, request \(id))")

    let results = await BatchProcessor(client: client, concurrency: 8).run((1...5).map {
        BatchProcessor.Call(app: "calculator", function: "multiply", destination: identity, params: ["a": .int($0), "b": .int($0)])
    })
    print("squares 1...5 = \(results.map { (try? $0.get())?.compactString ?? "error" }.joined(separator: ", "))")
} catch {
    print("error: \(error)")
    exit(1)
}
