import ArgumentParser

@main
struct SyftProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syft-proxy",
        abstract: "RPC proxy that lets SyftBox applications call each other without direct connections.",
        subcommands: [ServeCommand.self, HealthCommand.self, InfoCommand.self, TestRequestCommand.self, AdminCommand.self],
        defaultSubcommand: ServeCommand.self)
}
