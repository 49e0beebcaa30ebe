import SwarmTestSupport
import Testing

/// The store conformance suite (SwarmTestSupport's ``StoreConformance``) against SQLite: each
/// contract on a fresh database file in a temporary directory. Another backend runs the same
/// contracts with one line like this one in its own test target.
@Suite(.timeLimit(.minutes(1))) struct SQLiteConformanceTests {
    @Test(arguments: StoreConformance.contracts)
    func sqlite(_ contract: StoreConformance.Contract) async throws { try await contract.check(.sqlite) }
}
