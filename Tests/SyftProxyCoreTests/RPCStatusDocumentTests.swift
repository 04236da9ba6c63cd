import SyftProxyCore
import Testing

@Suite struct RPCStatusDocumentTests {
    static let record = RPCRecord(
        id: "r1", appName: "calculator", funcName: "add", destination: "bob@example.com", sender: "alice@example.com",
        state: .completed, params: ["a": 1], headers: ["x": "y"], result: ["sum": 3], error: nil,
        createdAt: 1_800_000_000.25, updatedAt: 1_800_000_001.5, completedAt: 1_800_000_001.5, deadline: 1_800_000_060,
        attempts: 2, endpoint: "syft://bob@example.com/app_data/calculator/rpc/add", traceparent: nil, leaseToken: "secret")

    @Test func theWireFormHasSPECsMembersInOrderAndNothingInternal() {
        let json = Self.record.statusJSON
        #expect(json.objectValue?.keys == [
            "id", "app_name", "func_name", "destination", "sender", "status", "result", "error",
            "created_at", "updated_at", "completed_at", "attempts",
        ])
        #expect(json["status"] == "completed")
        #expect(json["created_at"] == "2027-01-15T08:00:00.250000Z")
        #expect(json["completed_at"] == "2027-01-15T08:00:01.500000Z")
        #expect(!json.compactString.contains("secret"), "the lease token never reaches callers")
    }

    @Test func whatTheServerWritesTheClientReadsBack() throws {
        let written = RPCStatusDocument(record: Self.record)
        #expect(try RPCStatusDocument(json: written.json) == written)
        var pending = written
        pending.state = .pending
        pending.result = nil
        pending.sender = nil
        pending.completedAt = nil
        let readBack = try RPCStatusDocument(json: pending.json)
        #expect(readBack == pending, "\(readBack) vs \(pending)")
    }

    @Test func aDocumentOfAnotherShapeIsRefusedWithEveryProblemNamed() {
        var object = RPCStatusDocument(record: Self.record).json.objectValue ?? [:]
        object["status"] = "finished"
        object["attempts"] = "two"
        object["id"] = nil
        #expect {
            try RPCStatusDocument(json: .object(object))
        } throws: { error in
            let text = "\(error)"
            return text.contains("status 'finished' is none of pending, processing, completed, failed")
                && text.contains("attempts") && text.contains("id must be a string")
        }
        #expect(throws: RPCStatusDocument.DecodingError.self) { try RPCStatusDocument(json: ["detail": "Not Found"]) }
    }
}
