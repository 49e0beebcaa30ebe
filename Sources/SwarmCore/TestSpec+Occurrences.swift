/// Where a test is in its life, as operators see it.
public enum TestPhase: String, Sendable, Hashable, Codable {
    /// Its first run lies in the future.
    case scheduled
    /// Inside an occurrence window: agents are running it.
    case running
    /// Recurring, between occurrences.
    case waiting
    /// Past its end (or a one-off run that has reported).
    case finished
}

/// One occurrence window of a recurring test: `start ..< end` (no end: a single run at `start`).
public struct Occurrence: Sendable, Hashable {
    public var index: Int
    public var start: Timestamp
    public var end: Timestamp?
    public init(index: Int, start: Timestamp, end: Timestamp?) {
        self.index = index
        self.start = start
        self.end = end
    }
}

extension TestSpec {
    /// True when the test repeats (either recurrence mode with a positive interval).
    public var recurs: Bool { recurrence.mode != .none && recurrence.interval > .zero }

    /// The start of occurrence 0: the schedule's start, or `fallback` (when the test was created or
    /// the agent received it) without one.
    public func base(fallback: Timestamp) -> Timestamp { schedule.start ?? fallback }

    /// Occurrence `index`: the first window shifted by `index` recurrence intervals.
    public func occurrence(_ index: Int, base: Timestamp) -> Occurrence {
        let shift = recurrence.interval * index
        let length = schedule.end.map { $0 - base }
        let start = base + shift
        return Occurrence(index: index, start: start, end: length.map { start + $0 })
    }

    /// The first occurrence that starts after `now` (nil when the test does not recur).
    public func nextOccurrence(after now: Timestamp, base: Timestamp) -> Occurrence? {
        guard recurs else { return nil }
        let elapsed = max(0, (now - base).nanoseconds)
        let index = Int(elapsed / recurrence.interval.nanoseconds) + 1
        return occurrence(index, base: base)
    }

    /// The phase at `now` and when the next run (or occurrence) begins, if one is coming.
    ///
    /// - Parameters:
    ///   - ownsOccurrences: false for a "new"-mode parent past occurrence 0, whose later
    ///     occurrences run as child tests.
    ///   - hasResults: whether a one-off run has reported (it is finished then).
    public func phase(
        at now: Timestamp,
        createdAt: Timestamp,
        hasResults: Bool
    ) -> (phase: TestPhase, nextRunAt: Timestamp?) {
        let base = base(fallback: createdAt)
        if now < base { return (.scheduled, base) }
        let next = nextOccurrence(after: now, base: base)?.start
        let current: Occurrence
        if recurs {
            let index = Int((now - base).nanoseconds / recurrence.interval.nanoseconds)
            current = occurrence(index, base: base)
            if recurrence.mode == .new && index > 0 { return (.waiting, next) }
        } else {
            current = occurrence(0, base: base)
        }
        let inWindow: Bool
        if let end = current.end {
            inWindow = now < end
        } else if schedule.interval == .zero {
            // A one-off run: running until it reports (or its timeout has long passed).
            inWindow = recurs ? now < current.start + schedule.timeout : !hasResults
        } else {
            inWindow = true
        }
        if inWindow { return (.running, schedule.interval == .zero ? nil : next) }
        return next.map { (.waiting, $0) } ?? (.finished, nil)
    }
}
