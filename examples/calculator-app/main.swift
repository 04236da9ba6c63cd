// App B: serves `add` and `multiply` for one identity through the proxy cluster, over a
// WebSocket (GET /rpc/connect), or by long-poll pull where the proxy has no WebSocket route.
//   swift run calculator-app                      # against http://localhost:8000
//   SYFT_PROXY_URLS=http://a:8000,http://b:8000 SYFT_IDENTITY=bob@example.com swift run calculator-app
//   SYFT_DELIVERY=pull swift run calculator-app   # pull even where a WebSocket is offered
import Foundation
import SyftProxyClient
import SyftProxyCore

let environment = ProcessInfo.processInfo.environment
let urls = (environment["SYFT_PROXY_URLS"] ?? "http://localhost:8000").split(separator: ",").map(String.init)
let identity = environment["SYFT_IDENTITY"] ?? "bob@example.com"

let app = SyftApp(name: "calculator", destination: identity, client: ProxyClient(urls: urls, apiKey: environment["SYFT_API_KEY"]))

func number(_ call: SyftCall, _ name: String) throws -> Double {
    guard let value = call.params[name]?.doubleValue else { throw SyftAppError("param '\(name)' must be a number") }
    return value
}

app.function("add", params: ["a": "number", "b": "number"], returns: "number", description: "Add two numbers") { call in
    .double(try number(call, "a") + number(call, "b"))
}
app.function("multiply", params: ["a": "number", "b": "number"], returns: "number", description: "Multiply two numbers") { call in
    .double(try number(call, "a") * number(call, "b"))
}

let delivery: SyftApp.Delivery = environment["SYFT_DELIVERY"] == "pull" ? .pull : .automatic
print("calculator serving \(identity) through \(urls.joined(separator: ", ")); Ctrl-C to stop")
try await app.serve(concurrency: 16, delivery: delivery)
