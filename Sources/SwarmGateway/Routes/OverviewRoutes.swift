import Hummingbird
import SwarmCore
import SwarmStore

/// The dashboard in one call: counts, a 24-hour latency/loss overview and recent events.
struct OverviewRoutes {
    let store: any Store
    let settings: GatewaySettings

    struct Hour: Encodable {
        var t: String
        var avgUs: Double?
        var minUs: Double?
        var maxUs: Double?
        var lossPercent: Double?
        var count: Int
    }

    struct Overview: Encodable {
        var agentsOnline: Int
        var agentsTotal: Int
        var testsActive: Int
        var testsTotal: Int
        var latency: [Hour]
        var events: [EventDTO]
    }

    func add(to api: APIRouteBuilder) {
        api.on(.get, "overview", .role(.viewer)) { _, context in
            let agents = try await store.agents()
            let tests = try await store.tests()
            let now = Timestamp.now()
            let hour = Duration.seconds(3600)
            let start = Timestamp(unixNanos: (now.unixNanos / hour.nanoseconds) * hour.nanoseconds) - hour * 23
            let buckets = try await store.series(
                SeriesQuery(
                    test: nil,
                    kinds: [.icmp, .udp, .tcp],
                    range: TimeRange(from: start, to: start + hour * 24),
                    bucket: hour,
                    resolution: SeriesResolution.pick(
                        range: TimeRange(from: start, to: start + hour * 24),
                        bucket: hour,
                        now: now,
                        policy: try await settings.retentionPolicy(),
                        rawKeptFrom: try await store.rollupWatermarks()[.raw]
                    )
                )
            )
            var hours: [Hour] = (0..<24).map { index in
                Hour(t: (start + hour * index).iso8601, count: 0)
            }
            // Across agents and kinds: count-weighted mean, overall min and max, mean loss.
            var sums = [(value: Double, weight: Double, loss: Double, lossWeight: Double)](
                repeating: (0, 0, 0, 0),
                count: 24
            )
            for b in buckets {
                let index = Int((b.start - start).nanoseconds / hour.nanoseconds)
                guard hours.indices.contains(index) else { continue }
                hours[index].count += b.count
                if let avg = b.avg {
                    sums[index].value += avg * Double(b.count)
                    sums[index].weight += Double(b.count)
                }
                if let loss = b.lossPercent {
                    sums[index].loss += loss * Double(b.count)
                    sums[index].lossWeight += Double(b.count)
                }
                if let low = b.min { hours[index].minUs = Swift.min(hours[index].minUs ?? low, low) }
                if let high = b.max { hours[index].maxUs = Swift.max(hours[index].maxUs ?? high, high) }
            }
            for index in hours.indices {
                if sums[index].weight > 0 { hours[index].avgUs = sums[index].value / sums[index].weight }
                if sums[index].lossWeight > 0 { hours[index].lossPercent = sums[index].loss / sums[index].lossWeight }
            }
            return try JSONResponse.make(
                Overview(
                    agentsOnline: agents.filter { $0.online && $0.revokedAt == nil }.count,
                    agentsTotal: agents.count,
                    testsActive: tests.filter { $0.state == .active }.count,
                    testsTotal: tests.count,
                    latency: hours,
                    events: try await store.events(limit: 20, includingAccounts: context.principal?.role == .admin)
                        .map(EventDTO.init)
                )
            )
        }
    }
}
