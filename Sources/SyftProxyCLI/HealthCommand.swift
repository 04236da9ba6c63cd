import ArgumentParser
import Foundation

/// `syft-proxy health`: liveness and readiness of one replica; exit status 0 only when ready.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health", abstract: "Check that a proxy replica is alive and ready.")

    @Option(help: "Base URL of the replica.") var url = "http://localhost:8000"
    @Option(help: "Seconds to wait for each answer.") var timeout: Double = 5

    func run() async throws {
        let http = ProxyHTTP(url: url)
        do {
            let health = try await http.get("/health", timeout: timeout)
            let ready = try await http.get("/ready", timeout: timeout)
            print("health: \(health.status) \(health.text)")
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
