import Testing
@testable import SyftProxyCore

@Suite struct JSONTests {
    @Test func roundTripsKeepingNumberTextAndMemberOrder() throws {
        let text = #"{"z":1,"a":[true,false,null],"n":-1.50e+3,"big":123456789012345678901234567890,"s":"é\"\\\n"}"#
        let value = try JSONParser.parse(text)
        #expect(value.compactString == text)
        #expect(value.objectValue?.keys == ["z", "a", "n", "big", "s"])
        #expect(value["n"]?.doubleValue == -1500)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONParser.parse(#"["\u00e9\ud83d\ude00\/\t"]"#)
        #expect(value.arrayValue?.first?.stringValue == "é😀/\t")
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "01", "1.", "-", "tru", "\"abc", "\"\\x\"", "\"\\ud800\"",
        "{\"a\":1}x", "nul", "[1 2]", "\"\u{01}\"", "{'a':1}", "NaN",
    ])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func capsNestingInsteadOfOverflowingTheStack() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: Never.self) { try JSONParser.parse(fine) }
    }

    @Test func escapesControlCharactersOnOutput() {
        let value: JSONValue = .string("a\u{01}b\"c")
        #expect(value.compactString == #""a\u0001b\"c""#)
    }

    @Test func duplicateKeysResolveToTheLastAsPythonDoes() throws {
        let value = try JSONParser.parse(#"{"a":1,"a":2}"#)
        #expect(value["a"]?.intValue == 2)
    }
}
