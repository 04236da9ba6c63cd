import ServiceLifecycle
import SyftProxySyftBox

/// Runs the SyftBox transport's answer watch for the life of the replica.
struct SyftBoxDelivery: Service {
    let transport: SyftBoxTransport

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await transport.run()
        }
    }
}
