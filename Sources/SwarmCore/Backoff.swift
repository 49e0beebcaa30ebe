/// Exponential backoff with full jitter, capped ("Exponential Backoff and Jitter", AWS architecture blog).
///
/// Attempt n waits a uniformly random time in [0, min(cap, base × 2ⁿ)], so a fleet that lost its
/// server at the same moment does not come back at the same moment.
public struct Backoff: Sendable {
    public var base: Duration
    public var cap: Duration
    public private(set) var attempt: Int = 0

    /// - Parameters:
    ///   - base: The first ceiling. Defaults to 500 ms.
    ///   - cap: The largest ceiling. Defaults to 30 s.
    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling for the current attempt.
    public var ceiling: Duration {
        let factor = Int64(1) << Int64(min(attempt, 30))
        let nanos = base.nanoseconds.multipliedReportingOverflow(by: factor)
        if nanos.overflow { return cap }
        return min(cap, .nanoseconds(nanos.partialValue))
    }

    /// Returns the wait before the next attempt and advances.
    public mutating func next<R: RandomNumberGenerator>(using generator: inout R) -> Duration {
        let ceiling = self.ceiling
        attempt += 1
        let nanos = ceiling.nanoseconds
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanos, using: &generator))
    }

    public mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// Call after a session was established, so the next outage starts from the base again.
    public mutating func reset() { attempt = 0 }
}
