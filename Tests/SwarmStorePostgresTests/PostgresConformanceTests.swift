import SwarmTestSupport
import Testing

/// The store conformance suite (SwarmTestSupport's ``StoreConformance``) against PostgreSQL: each
/// contract on a fresh database of the server `SWARM_TEST_POSTGRES_URL` names. Without the
/// variable every contract fails saying how to start one (scripts/test.sh does).
@Suite(.timeLimit(.minutes(1))) struct PostgresConformanceTests {
    @Test(arguments: StoreConformance.contracts)
    func postgres(_ contract: StoreConformance.Contract) async throws {
        try await contract.check(.postgres(url: try PostgresTestEnvironment.requireURL()))
    }
}
