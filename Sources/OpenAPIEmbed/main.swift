import Foundation

// Writes text files into a Swift file as raw string literals, so they are part of the binary:
// a resource bundle would have to travel beside every copy of the executable (the container
// image ships the binary alone), and Bundle.module stops the process when it cannot find one.
// Usage: OpenAPIEmbed <output.swift> <EnumName> <member>=<file>...
let arguments = CommandLine.arguments
guard arguments.count >= 4 else {
    FileHandle.standardError.write(Data("usage: OpenAPIEmbed <output.swift> <EnumName> <member>=<file>...\n".utf8))
    exit(64)
}
let output = URL(fileURLWithPath: arguments[1])
let enumName = arguments[2]

/// One '#' more than the longest run after a quote or a backslash keeps any content from
/// closing the literal or reading as an escape.
func literal(_ text: String) -> String {
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
    return "\(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)"
}

var members = ""
var names: [String] = []
for argument in arguments.dropFirst(3) {
    guard let equals = argument.firstIndex(of: "=") else {
        FileHandle.standardError.write(Data("expected <member>=<file>, got \(argument)\n".utf8))
        exit(64)
    }
    let member = String(argument[..<equals])
    let input = URL(fileURLWithPath: String(argument[argument.index(after: equals)...]))
    let text: String
    do {
        text = try String(contentsOf: input, encoding: .utf8)
    } catch {
        FileHandle.standardError.write(Data("cannot read \(input.path) as UTF-8: \(error)\n".utf8))
        exit(65)
    }
    names.append(input.lastPathComponent)
    members += "    static let \(member) = \(literal(text))\n"
}
let source = """
    // Generated at build time from \(names.joined(separator: ", ")); edit those files instead.
    enum \(enumName) {
    \(members)}

    """
do {
    try Data(source.utf8).write(to: output, options: .atomic)
} catch {
    FileHandle.standardError.write(Data("cannot write \(output.path): \(error)\n".utf8))
    exit(73)
}
