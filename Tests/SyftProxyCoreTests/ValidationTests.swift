import Testing
@testable import SyftProxyCore

@Suite struct ValidationTests {
    let limits = RequestLimits(defaultTimeout: 60, maximumTimeout: 300, maximumParamsBytes: 100)

    func send(_ text: String) throws(ValidationError) -> RPCSendRequest {
        try RPCSendRequest(json: try Validation.parseBody(Array(text.utf8)), limits: limits)
    }

    func locations(_ text: String) -> [String] {
        do {
            _ = try send(text)
            return []
        } catch {
            return error.issues.map { issue in
                issue.location.map { if case .key(let k) = $0 { k } else if case .index(let i) = $0 { String(i) } else { "" } }.joined(separator: ".")
            }
        }
    }

    @Test func acceptsTheSeedRequestWithDefaults() throws {
        let request = try send(#"{"app_name":"calculator","func_name":"add","destination":"bob@example.com","params":{"a":5,"b":3}}"#)
        #expect(request.appName == "calculator")
        #expect(request.blocking == false)
        #expect(request.timeout == 60)
        #expect(request.params["a"]?.intValue == 5)
        #expect(request.headers.isEmpty)
    }

    @Test func reportsEveryBadFieldAtOnce() {
        let locs = locations(#"{"app_name":"","func_name":7,"destination":"a@b@c","params":[],"blocking":"yes","timeout":0,"headers":{"x":1}}"#)
        #expect(locs == ["body.app_name", "body.func_name", "body.destination", "body.params", "body.blocking", "body.timeout", "body.headers.x"])
    }

    @Test func missingFieldsAreNamed() {
        #expect(locations("{}") == ["body.app_name", "body.func_name", "body.destination"])
    }

    @Test(arguments: ["bob", "@example.com", "bob@", "a@b@c", "bob smith@example.com", "bob/x@example.com"])
    func rejectsBadIdentities(_ identity: String) {
        #expect(!Validation.isIdentity(identity))
    }

    @Test func timeoutBounds() {
        #expect(locations(#"{"app_name":"a","func_name":"f","destination":"b@c","timeout":300}"#).isEmpty)
        #expect(locations(#"{"app_name":"a","func_name":"f","destination":"b@c","timeout":300.5}"#) == ["body.timeout"])
        #expect(locations(#"{"app_name":"a","func_name":"f","destination":"b@c","timeout":-1}"#) == ["body.timeout"])
        #expect(locations(#"{"app_name":"a","func_name":"f","destination":"b@c","timeout":"5"}"#) == ["body.timeout"])
    }

    @Test func paramsLimitCountsCompactBytes() {
        let fits = String(repeating: "x", count: 100 - #"{"k":""}"#.count)
        #expect(locations(#"{"app_name":"a","func_name":"f","destination":"b@c","params":{"k":"\#(fits)"}}"#).isEmpty)
        #expect(locations(#"{"app_name":"a","func_name":"f","destination":"b@c","params":{"k":"\#(fits)x"}}"#) == ["body.params"])
    }

    @Test func nameLengthLimit() {
        let long = String(repeating: "a", count: 129)
        #expect(locations(#"{"app_name":"\#(long)","func_name":"f","destination":"b@c"}"#) == ["body.app_name"])
    }

    @Test func malformedAndNonObjectBodies() {
        #expect(throws: ValidationError.self) { try Validation.parseBody(Array("{oops".utf8)) }
        #expect(locations("[1,2]") == ["body"])
        #expect(throws: ValidationError.self) { try Validation.parseBody([]) }
    }

    @Test func broadcastRejectsTheWholeListNamingTheIndex() {
        let body = #"{"func_name":"notify","destinations":["syft://a@x.com/app_data/n/rpc/notify","http://b@x.com/app_data/n/rpc/notify"]}"#
        do {
            _ = try RPCBroadcastRequest(json: try Validation.parseBody(Array(body.utf8)), limits: limits)
            Issue.record("expected a validation error")
        } catch {
            #expect(error.issues.map(\.location) == [[.key("body"), .key("destinations"), .index(1)]])
        }
    }

    @Test func broadcastParsesDestinations() throws {
        let body = #"{"func_name":"notify","params":{"m":1},"destinations":["syft://a@x.com/app_data/notifier/rpc/notify","syft://b@x.com/app_data/other/rpc/deep/path"]}"#
        let request = try RPCBroadcastRequest(json: try Validation.parseBody(Array(body.utf8)), limits: limits)
        #expect(request.destinations.map(\.identity) == ["a@x.com", "b@x.com"])
        #expect(request.destinations.map(\.appName) == ["notifier", "other"])
        #expect(request.destinations[1].endpoint == "deep/path")
        #expect(request.destinations[0].description == "syft://a@x.com/app_data/notifier/rpc/notify")
    }

    @Test(arguments: [
        "syft://bob@x.com/app_data/app/rpc", "syft://bob@x.com/data/app/rpc/f", "syft://bobx.com/app_data/app/rpc/f",
        "syft://bob@x.com/app_data//rpc/f", "bob@x.com/app_data/app/rpc/f", "syft://bob@x.com",
    ])
    func rejectsMalformedSyftURLs(_ text: String) {
        #expect(throws: SyftBoxURL.ParseError.self) { try SyftBoxURL(parsing: text) }
    }

    @Test func headersAreCappedInCountAndBytes() {
        func body(headers: String) -> String {
            #"{"app_name":"calculator","func_name":"add","destination":"bob@example.com","headers":"# + headers + "}"
        }
        let many = "{" + (0..<1000).map { #""h\#($0)":"v""# }.joined(separator: ",") + "}"
        #expect(locations(body(headers: many)) == ["body.headers"])
        let large = #"{"big":""# + String(repeating: "x", count: 100_000) + #""}"#
        #expect(locations(body(headers: large)) == ["body.headers"])
        #expect(locations(body(headers: #"{"X-Trace":"t"}"#)) == [])
    }

    @Test func answerBodies() throws {
        #expect(try RPCAnswer(json: ["result": 15]) == .result(15))
        #expect(try RPCAnswer(json: ["result": nil]) == .result(nil))
        #expect(try RPCAnswer(json: ["error": "boom"]) == .error("boom"))
        #expect(try RPCAnswer(json: ["error": "boom", "result": nil]) == .error("boom"))
        #expect(throws: ValidationError.self) { try RPCAnswer(json: [:]) }
        #expect(throws: ValidationError.self) { try RPCAnswer(json: ["result": 1, "error": "x"]) }
        #expect(throws: ValidationError.self) { try RPCAnswer(json: ["error": 5]) }
    }

    @Test func fastAPIErrorShape() {
        let error = ValidationError(ValidationIssue(body: .key("destinations"), .index(2), message: "bad", type: "value_error"))
        #expect(error.json.compactString == #"{"detail":[{"loc":["body","destinations",2],"msg":"bad","type":"value_error"}]}"#)
    }
}

@Suite struct EncodedParamsTests {
    @Test func theSizeCheckHandsOnTheEncodingItMade() throws {
        let body: JSONValue = ["app_name": "calc", "func_name": "add", "destination": "bob@example.com", "params": ["b": [1, 2], "a": "x"]]
        let send = try RPCSendRequest(json: body, limits: RequestLimits())
        #expect(send.encodedParams == JSONValue.object(send.params).compactBytes)
        let empty = try RPCSendRequest(json: ["app_name": "calc", "func_name": "add", "destination": "bob@example.com"], limits: RequestLimits())
        #expect(empty.encodedParams == JSONValue.object([:]).compactBytes)
    }

    @Test func anIdempotencyKeyDigestIsTheSameWithOrWithoutTheEncoding() {
        let params: JSONObject = ["a": 1, "b": ["c": true]]
        let plain = NewRequest(id: "1", appName: "calc", funcName: "add", destination: "bob@example.com", sender: nil, params: params, headers: [:], timeout: 30)
        var encoded = plain
        encoded.encodedParams = JSONValue.object(params).compactBytes
        #expect(IdempotencyKey(key: "k", scope: "s", request: plain) == IdempotencyKey(key: "k", scope: "s", request: encoded))
        #expect(encoded.compactParams == plain.compactParams)
    }
}
