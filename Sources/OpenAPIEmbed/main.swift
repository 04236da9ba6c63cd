import Foundation

// Writes the OpenAPI template into a Swift file as a raw string literal, so the document is
// part of the binary: a resource bundle would have to travel beside every copy of the
// executable (the container image ships the binary alone), and Bundle.module stops the
// process when it cannot find one.
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: OpenAPIEmbed <openapi.json> <output.swift>\n".utf8))
    exit(64)
}
let input = URL(fileURLWithPath: arguments[1])
let output = URL(fileURLWithPath: arguments[2])
let text: String
do {
    text = try String(contentsOf: input, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("cannot read \(input.path) as UTF-8: \(error)\n".utf8))
    exit(65)
}

// One '#' more than the longest run after a quote or a backslash keeps any content from
// closing the literal or reading as an escape.
var longest = 0
var run = -1
for character in text {
    if character == "\"" || character == "\\" {
        run = 0
    } else if character == "#", run >= 0 {
        run += 1
        longest = max(longest, run)
    } else {
        run = -1
    }
}
let hashes = String(repeating: "#", count: longest + 1)
let source = """
    // Generated at build time from \(input.lastPathComponent); edit that file instead.
    enum OpenAPITemplate {
        static let text = \(hashes)\"\"\"
    \(text)
    \"\"\"\(hashes)
    }

    """
do {
    try Data(source.utf8).write(to: output, options: .atomic)
} catch {
    FileHandle.standardError.write(Data("cannot write \(output.path): \(error)\n".utf8))
    exit(73)
}
