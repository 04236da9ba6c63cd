import ServiceLifecycle
import SyftProxySyftBox

/// Runs the SyftBox transport's answer watch for the life of the replica, hands its waiting
/// requests back when the replica shuts down, and then stops the transport's file threads.
struct SyftBoxDelivery: Service {
    let transport: SyftBoxTransport

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await transport.run()
        }
        await transport.handBack()
        await transport.shutdown()
    }
}
