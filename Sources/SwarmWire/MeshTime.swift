// why: a reading carries a SwarmCore Timestamp (the wall clock half).
public import SwarmCore

/// One reading of both clocks a session needs: monotonic time for timeouts and liveness (never
/// jumps), wall time for what goes on the wire and into the store.
///
/// The session state machines have no clock of their own: their drivers pass `MeshTime.now()`
/// with every event, and their tests pass readings they made up.
public struct MeshTime: Sendable, Hashable, Comparable {
    /// Time since an arbitrary origin, fixed for the process.
    public var monotonic: Duration
    public var wall: Timestamp

    public init(monotonic: Duration, wall: Timestamp) {
        self.monotonic = monotonic
        self.wall = wall
    }

    private static let origin = ContinuousClock.now

    public static func now() -> MeshTime {
        MeshTime(monotonic: ContinuousClock.now - origin, wall: .now())
    }

    /// The reading `duration` later on both clocks.
    public static func + (lhs: MeshTime, rhs: Duration) -> MeshTime {
        MeshTime(monotonic: lhs.monotonic + rhs, wall: lhs.wall + rhs)
    }

    /// Monotonic time elapsed from `rhs` to `lhs`.
    public static func - (lhs: MeshTime, rhs: MeshTime) -> Duration { lhs.monotonic - rhs.monotonic }

    public static func < (lhs: MeshTime, rhs: MeshTime) -> Bool { lhs.monotonic < rhs.monotonic }
}
