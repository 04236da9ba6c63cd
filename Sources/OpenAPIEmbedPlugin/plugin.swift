import PackagePlugin

/// Compiles Resources/openapi.json into the target that serves it (see OpenAPIEmbed for why
/// not a resource bundle).
@main
struct OpenAPIEmbedPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        // From the package's folder: a target's own folder URL needs swift-tools-version 6.1,
        // and the server target sits at the default Sources/<name>.
        let input = context.package.directoryURL.appending(path: "Sources/\(target.name)/Resources/openapi.json")
        let output = context.pluginWorkDirectoryURL.appending(path: "OpenAPITemplate.swift")
        return [
            .buildCommand(
                displayName: "Embedding the OpenAPI document of \(target.name)",
                executable: try context.tool(named: "OpenAPIEmbed").url,
                arguments: [input.path(), output.path()],
                inputFiles: [input],
                outputFiles: [output])
        ]
    }
}
