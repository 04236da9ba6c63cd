import SyftProxyTestSupport
import Testing

@Suite struct ClusterProcessTests {
    @Test func threeMastersWithAReplicaEachCoverEverySlot() async throws {
        let cluster = try await RedisClusterProcess.launch(masters: 3, replicasPerMaster: 1)
        defer { cluster.stop() }
        let nodes = try cluster.nodes()
        #expect(nodes.count == 6)
        let masters = nodes.filter(\.isMaster)
        #expect(masters.count == 3)
        #expect(masters.reduce(0) { $0 + $1.slotCount } == 16384)
        #expect(nodes.filter { !$0.isMaster }.allSatisfy { replica in masters.contains { $0.id == replica.masterID } })
    }
}
