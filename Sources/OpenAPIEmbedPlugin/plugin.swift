import PackagePlugin

/// Compiles Resources/openapi.json and the dashboard's files (Resources/dashboard) into the
/// target that serves them (see OpenAPIEmbed for why not a resource bundle).
@main
struct OpenAPIEmbedPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        // From the package's folder: a target's own folder URL needs swift-tools-version 6.1,
        // and the server target sits at the default Sources/<name>.
        let resources = context.package.directoryURL.appending(path: "Sources/\(target.name)/Resources")
        let tool = try context.tool(named: "OpenAPIEmbed").url
        func embed(_ enumName: String, _ files: [(member: String, path: String)]) -> Command {
            let inputs = files.map { resources.appending(path: $0.path) }
            let output = context.pluginWorkDirectoryURL.appending(path: "\(enumName).swift")
            return .buildCommand(
                displayName: "Embedding \(enumName) in \(target.name)",
                executable: tool,
                arguments: [output.path(), enumName] + zip(files, inputs).map { "\($0.0.member)=\($0.1.path())" },
                inputFiles: inputs,
                outputFiles: [output])
        }
        return [
            embed("OpenAPITemplate", [("text", "openapi.json")]),
            embed("DashboardAssets", [("html", "dashboard/index.html"), ("css", "dashboard/dashboard.css"), ("js", "dashboard/dashboard.js")]),
        ]
    }
}
