import ArgumentParser
import Foundation

/// `syft-proxy health`: liveness and readiness of one replica. By default the exit status is 0
/// only when the replica is live (GET /health) and ready (GET /ready, its store answers); with
/// `--live` only liveness is checked, for container health checks that restart what fails them.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check that a proxy replica is alive and ready.",
        discussion: """
            Exit status: 0 live and ready (with --live: live), 1 not ready or not live, 2 unreachable.

            Use --live for a container HEALTHCHECK or a liveness probe: readiness follows the store, \
            and restarting every replica because Redis is briefly away helps nothing.
            """)

    @Option(help: "Base URL of the replica.") var url = "http://localhost:8000"
    @Option(help: "Seconds to wait for each answer.") var timeout: Double = 5
    @Flag(help: "Check liveness only (GET /health), not readiness (GET /ready).") var live = false

    func run() async throws {
        let http = ProxyHTTP(url: url)
        do {
            let health = try await http.get("/health", timeout: timeout)
            print("health: \(health.status) \(health.text)")
            if live {
                if health.status != 200 { throw ExitCode(1) }
                return
            }
            let ready = try await http.get("/ready", timeout: timeout)
            print("ready:  \(ready.status) \(ready.text)")
            if health.status != 200 || ready.status != 200 { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("unreachable: \(url) (\(error)); is `syft-proxy serve` running there?")
            throw ExitCode(2)
        }
    }
}

/// `syft-proxy info`: GET / of one replica.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a replica's name, version, replica id, store and uptime.")

    @Option(help: "Base URL of the replica.") var url = "http://localhost:8000"
    @Option(help: "Seconds to wait for the answer.") var timeout: Double = 5

    func run() async throws {
        do {
            let answer = try await ProxyHTTP(url: url).get("/", timeout: timeout)
            guard answer.status == 200, case .object(let info)? = answer.json else {
                print("unexpected answer \(answer.status): \(answer.text)")
                throw ExitCode(1)
            }
            for member in info.members {
                let value = member.value.stringValue ?? member.value.compactString
                print("\(member.key.padding(toLength: 16, withPad: " ", startingAt: 0)) \(value)")
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("unreachable: \(url) (\(error)); is `syft-proxy serve` running there?")
            throw ExitCode(2)
        }
    }
}
