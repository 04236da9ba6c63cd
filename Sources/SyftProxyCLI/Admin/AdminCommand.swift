import ArgumentParser
import Foundation
import SyftProxyCore

/// `syft-proxy admin ...`: the operator API from a terminal, over HTTP to any replica.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operate a deployment: requests, dead letters, retry, cancel, queues, purge, endpoints, replicas.",
        discussion: "Talks to GET/POST /admin/* of one replica with an admin key (PROXY_ADMIN_KEYS on the server).",
        subcommands: [
            AdminRequestsCommand.self, AdminRequestCommand.self, AdminFailedCommand.self, AdminRetryCommand.self,
            AdminCancelCommand.self, AdminQueuesCommand.self, AdminPurgeCommand.self, AdminEndpointsCommand.self, AdminReplicasCommand.self,
        ])
}

/// What every admin subcommand takes.
struct AdminOptions: ParsableArguments {
    @Option(help: "Base URL of a replica.") var url = "http://127.0.0.1:8000"
    @Option(help: "An admin key (one of the server's PROXY_ADMIN_KEYS); default $PROXY_ADMIN_KEY.") var adminKey: String?
    @Flag(help: "Print the API's JSON instead of a table, for scripts.") var json = false
    @Option(help: "Seconds to wait for the answer.") var timeout: Double = 10

    var key: String? { adminKey ?? ProcessInfo.processInfo.environment["PROXY_ADMIN_KEY"] }
}

/// Filters shared by the list commands.
struct AdminFilterOptions: ParsableArguments {
    @Option(help: "Only requests to this app.") var appName: String?
    @Option(help: "Only requests to this identity.") var destination: String?
    @Option(help: "Only requests from this identity.") var sender: String?
    @Option(help: "Items per page (1 to 200).") var limit: Int?
    @Option(help: "next_cursor of the previous page.") var cursor: String?

    func query(state: String? = nil) -> String {
        let items: [(String, String?)] = [
            ("state", state), ("app_name", appName), ("destination", destination), ("sender", sender), ("limit", limit.map(String.init)),
            ("cursor", cursor),
        ]
        let parts = items.compactMap { name, value in value.map { "\(name)=\(AdminClient.escape($0))" } }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}

struct AdminRequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "requests", abstract: "List requests, newest first.")
    @OptionGroup var options: AdminOptions
    @OptionGroup var filter: AdminFilterOptions
    @Option(help: "pending, processing, completed or failed.") var state: String?

    func run() async throws {
        let json = try await AdminClient(options).call(.GET, "/admin/requests" + filter.query(state: state))
        AdminOutput.page(json, key: "requests", options: options)
    }
}

struct AdminRequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "request", abstract: "Show one request with its timeline.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The request id.") var id: String

    func run() async throws {
        let json = try await AdminClient(options).call(.GET, "/admin/requests/\(AdminClient.escape(id))")
        AdminOutput.detail(json, options: options)
    }
}

struct AdminFailedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "failed", abstract: "List dead letters, newest failure first.")
    @OptionGroup var options: AdminOptions
    @OptionGroup var filter: AdminFilterOptions

    func run() async throws {
        let json = try await AdminClient(options).call(.GET, "/admin/failed" + filter.query())
        AdminOutput.page(json, key: "failed", options: options)
    }
}

struct AdminRetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Retry dead letters: the ids given, or the newest matching --app-name/--destination/--sender.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "Request ids (at most 100).") var ids: [String] = []
    @Option(help: "Retry the newest dead letters of this app.") var appName: String?
    @Option(help: "... to this identity.") var destination: String?
    @Option(help: "... from this identity.") var sender: String?
    @Option(help: "At most this many (1 to 100).") var limit: Int?

    func validate() throws {
        if ids.isEmpty && appName == nil && destination == nil && sender == nil {
            throw ValidationError("name request ids, or a filter (--app-name, --destination, --sender) to retry the newest matching dead letters")
        }
    }

    func run() async throws {
        var body: JSONObject = [:]
        if !ids.isEmpty { body["ids"] = .array(ids.map { JSONValue.string($0) }) }
        if let appName { body["app_name"] = .string(appName) }
        if let destination { body["destination"] = .string(destination) }
        if let sender { body["sender"] = .string(sender) }
        if let limit { body["limit"] = .int(limit) }
        let json = try await AdminClient(options).call(.POST, "/admin/failed/retry", body: .object(body))
        AdminOutput.retried(json, options: options)
    }
}

struct AdminCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a pending or processing request.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The request id.") var id: String

    func run() async throws {
        let json = try await AdminClient(options).call(.POST, "/admin/requests/\(AdminClient.escape(id))/cancel", body: .object([:]))
        AdminOutput.status(json, options: options)
    }
}

struct AdminQueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queues", abstract: "Queued work: depth and oldest age per app and destination.")
    @OptionGroup var options: AdminOptions

    func run() async throws {
        AdminOutput.queues(try await AdminClient(options).call(.GET, "/admin/queues"), options: options)
    }
}

struct AdminPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge", abstract: "Fail the queued requests of an app and destination as purged by an operator.")
    @OptionGroup var options: AdminOptions
    @Option(help: "The app.") var appName: String
    @Option(help: "The destination identity.") var destination: String

    func run() async throws {
        let json = try await AdminClient(options).call(
            .POST, "/admin/queues/purge", body: .object(["app_name": .string(appName), "destination": .string(destination)]))
        AdminOutput.purged(json, options: options)
    }
}

struct AdminReplicasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replicas", abstract: "Live replicas with their load and latency.")
    @OptionGroup var options: AdminOptions

    func run() async throws {
        AdminOutput.replicas(try await AdminClient(options).call(.GET, "/admin/replicas"), options: options)
    }
}

struct AdminEndpointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "endpoints", abstract: "Push URLs, SyftBox and pull consumers, with push health.")
    @OptionGroup var options: AdminOptions

    func run() async throws {
        AdminOutput.endpoints(try await AdminClient(options).call(.GET, "/admin/endpoints"), options: options)
    }
}
