/// Likely causes of a test getting worse in a window, ranked, each with the numbers behind it:
/// compare what was measured before the window with what was measured during it.
public enum Diagnosis {
    /// Values of one figure before and during the window.
    public struct Window: Sendable, Hashable {
        public var before: [Double]
        public var during: [Double]
        public init(before: [Double], during: [Double]) {
            self.before = before
            self.during = during
        }
        var medians: (before: Double, during: Double)? {
            guard let b = RobustStatistics.median(before), let d = RobustStatistics.median(during) else { return nil }
            return (b, d)
        }
    }

    public enum Kind: String, Sendable, Hashable, Codable {
        case pathChange = "path_change"
        case phase
        case device
        case hostSaturation = "host_saturation"
        case localToAgent = "local_to_agent"
        case shared
        case timeOfDay = "time_of_day"
    }

    public struct Cause: Sendable, Hashable, Codable {
        public var kind: Kind
        public var title: String
        /// How strongly the evidence points here, 0–1 (a ranking weight, not a probability).
        public var confidence: Double
        public var evidence: [String]
    }

    public struct DeviceFigure: Sendable, Hashable {
        public var device: String
        /// "utilisation_percent", "errors_per_second", "drops_per_second" or "cpu_percent".
        public var figure: String
        public var window: Window
        public init(device: String, figure: String, window: Window) {
            self.device = device
            self.figure = figure
            self.window = window
        }
    }

    public struct Input: Sendable, Hashable {
        /// The headline figure of the test on the agent being diagnosed, and its unit.
        public var agent: String
        public var headline: Window
        public var unit: String
        /// The same figure on every agent that runs the test (this one included).
        public var agents: [String: Window] = [:]
        /// Loss (percent) on every agent that runs the test, where the probe measures loss.
        public var agentLoss: [String: Window] = [:]
        /// dns, connect, tls, first_byte (ms), where the probe measures phases.
        public var phases: [String: Window] = [:]
        /// Path fingerprints (hop addresses in order) before and during.
        public var pathsBefore: [String] = []
        public var pathsDuring: [String] = []
        public var devices: [DeviceFigure] = []
        /// The agent host's cpu_percent, memory_percent, retransmissions_per_second.
        public var host: [String: Window] = [:]
        /// The usual value at the window's hour of the week and over the whole week.
        public var usualAtThisHour: Double?
        public var usualOverall: Double?

        public init(agent: String, headline: Window, unit: String) {
            self.agent = agent
            self.headline = headline
            self.unit = unit
        }
    }

    public static func rank(_ input: Input) -> [Cause] {
        var causes: [Cause] = []
        pathChange(input).map { causes.append($0) }
        phaseGrowth(input).map { causes.append($0) }
        causes += devices(input)
        hostSaturation(input).map { causes.append($0) }
        spread(input).map { causes.append($0) }
        timeOfDay(input).map { causes.append($0) }
        causes.sort { $0.confidence > $1.confidence }
        // A new path on this agent's route is why only this agent sees it: the path goes first.
        if let path = causes.firstIndex(where: { $0.kind == .pathChange }),
            let local = causes.firstIndex(where: { $0.kind == .localToAgent }), local < path
        {
            causes.insert(causes.remove(at: path), at: local)
        }
        return causes
    }

    /// A figure for evidence text: about three significant digits, no decimals when whole.
    public static func text(_ value: Double) -> String {
        guard value.isFinite else { return String(value) }
        let magnitude = abs(value)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : magnitude >= 0.01 ? 3 : 4
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return rounded == rounded.rounded() && magnitude < 1e15 ? String(Int(rounded)) : String(rounded)
    }

    static func pathChange(_ input: Input) -> Cause? {
        guard !input.pathsBefore.isEmpty, !input.pathsDuring.isEmpty else { return nil }
        let known = Set(input.pathsBefore).map { $0.split(separator: ">") }
        let changed = input.pathsDuring.filter { path in
            let hops = path.split(separator: ">")
            return !known.contains { Self.fits(hops, known: $0) }
        }
        guard !changed.isEmpty else { return nil }
        let share = Double(changed.count) / Double(input.pathsDuring.count)
        let usual = mostCommon(input.pathsBefore)
        let now = mostCommon(changed)
        return Cause(
            kind: .pathChange,
            title: "the path changed",
            confidence: 0.9 * share,
            evidence: [
                "\(changed.count) of \(input.pathsDuring.count) traceroutes in the window took a path not seen before",
                "before: \(usual)", "during: \(now)",
            ]
        )
    }

    /// Whether a traceroute's hops fit a known path: hops that did not answer ("*", lost probes
    /// on a busy link) fit any hop, and a run with such gaps may end a TTL late; every hop that
    /// did answer must be on the known path, in order, ending at the same place. Gaps in the
    /// known path match nothing, so an old lossy run cannot hide a new route.
    static func fits(_ hops: [Substring], known: [Substring]) -> Bool {
        if hops.count == known.count && zip(hops, known).allSatisfy({ $0 == $1 || $0 == "*" }) { return true }
        let answered = hops.filter { $0 != "*" }
        guard answered.count < hops.count, let last = answered.last, last == known.last else { return false }
        var rest = known[...]
        for hop in answered {
            guard let index = rest.firstIndex(of: hop) else { return false }
            rest = rest[rest.index(after: index)...]
        }
        return true
    }

    static func phaseGrowth(_ input: Input) -> Cause? {
        let growth = input.phases.compactMap { name, window -> (String, Double, Double)? in
            guard let m = window.medians else { return nil }
            return (name, m.before, m.during)
        }
        let total = growth.map { max(0, $0.2 - $0.1) }.reduce(0, +)
        guard total > 0, let top = growth.max(by: { ($0.2 - $0.1) < ($1.2 - $1.1) }) else { return nil }
        let share = (top.2 - top.1) / total
        guard share >= 0.5, top.2 - top.1 >= max(1, 0.2 * top.1) else { return nil }
        return Cause(
            kind: .phase,
            title: "the \(top.0.replacingUnderscores) phase grew",
            confidence: 0.8 * share,
            evidence: [
                "\(top.0) \(text(top.1)) → \(text(top.2)) ms (+\(text(top.2 - top.1)) ms, \(text(share * 100))% of the growth of all phases)"
            ]
        )
    }

    static func devices(_ input: Input) -> [Cause] {
        input.devices.compactMap { figure in
            guard let m = figure.window.medians else { return nil }
            let rose = m.during - m.before
            let (hit, confidence): (Bool, Double) =
                switch figure.figure {
                case "utilisation_percent": (m.during >= 80 && rose >= 20, 0.85)
                case "errors_per_second", "drops_per_second":
                    (m.during > 0 && rose > 0 && m.during >= 2 * m.before, 0.8)
                case "cpu_percent": (m.during >= 85 && rose >= 20, 0.6)
                default: (false, 0)
                }
            guard hit else { return nil }
            return Cause(
                kind: .device,
                title: "\(figure.device) on the path: \(figure.figure.replacingUnderscores) rose",
                confidence: confidence,
                evidence: ["\(figure.device) \(figure.figure) \(text(m.before)) → \(text(m.during)) (gNMI)"]
            )
        }
    }

    static func hostSaturation(_ input: Input) -> Cause? {
        var evidence: [String] = []
        // Saturated now and not before: a host that was as busy while the figure was fine does
        // not explain the change.
        if let cpu = input.host["cpu_percent"]?.medians, cpu.during >= 90, cpu.during - cpu.before >= 10 {
            evidence.append("agent CPU \(text(cpu.before))% → \(text(cpu.during))%")
        }
        if let memory = input.host["memory_percent"]?.medians, memory.during >= 95, memory.during - memory.before >= 5 {
            evidence.append("agent memory \(text(memory.before))% → \(text(memory.during))%")
        }
        if let retransmits = input.host["retransmissions_per_second"]?.medians,
            retransmits.during > 1, retransmits.during >= 3 * max(retransmits.before, 0.1)
        {
            evidence.append("TCP retransmissions \(text(retransmits.before))/s → \(text(retransmits.during))/s")
        }
        guard !evidence.isEmpty else { return nil }
        return Cause(kind: .hostSaturation, title: "the agent's host is saturated", confidence: 0.7, evidence: evidence)
    }

    /// One agent alone got worse (local) or most of them did (shared), by the headline or by
    /// loss: loss leaves the latency alone, so a lossy link shows only in the second.
    static func spread(_ input: Input) -> Cause? {
        let figures = [headlineSpread(input), lossSpread(input)].compactMap { $0 }
        if let local = figures.first(where: { $0.isLocal(to: input.agent) }) {
            return Cause(
                kind: .localToAgent,
                title: "only \(input.agent) sees it",
                confidence: 0.65,
                evidence: [local.localEvidence(input.agent)]
            )
        }
        if let shared = figures.first(where: \.isShared) {
            return Cause(
                kind: .shared,
                title: "shared: \(shared.worse.count) of \(shared.changes.count) agents see it",
                confidence: 0.55,
                evidence: shared.sharedEvidence
            )
        }
        return nil
    }

    /// Below a millisecond a round trip moves with the hosts' scheduling, not the network: a
    /// 0.05 → 0.08 ms hop next to a router is no "worse" however large the ratio.
    static let latencyFloorMs = 1.0
    /// Loss must rise by this many percentage points (and at least double) to count as worse.
    static let lossFloorPoints = 5.0

    /// How one figure changed on every agent that measured it before and during.
    struct AgentSpread {
        struct Change {
            var agent: String
            var before: Double
            var during: Double
        }
        var figure: String
        var unit: String
        var changes: [Change]
        var worse: [Change]

        func isLocal(to agent: String) -> Bool {
            changes.count >= 2 && worse.count == 1 && worse[0].agent == agent
        }
        var isShared: Bool { changes.count >= 2 && worse.count * 2 > changes.count }

        /// Only when ``isLocal(to:)``: the one worse agent is `agent`.
        func localEvidence(_ agent: String) -> String {
            let own = worse[0]
            let others = changes.filter { $0.agent != agent }
            let spread = others.map { $0.during - $0.before }.map(abs).max() ?? 0
            return "\(figure) on \(agent) \(Diagnosis.text(own.before)) → \(Diagnosis.text(own.during)) \(unit); "
                + "the other \(others.count) agent(s) moved by \(Diagnosis.text(spread)) \(unit) at most"
        }
        var sharedEvidence: [String] {
            worse.sorted { $0.during - $0.before > $1.during - $1.before }.map {
                "\(figure) on \($0.agent) \(Diagnosis.text($0.before)) → \(Diagnosis.text($0.during)) \(unit)"
            }
        }
    }

    private static func changes(_ windows: [String: Window]) -> [AgentSpread.Change] {
        windows.compactMap { agent, window in
            window.medians.map { AgentSpread.Change(agent: agent, before: $0.before, during: $0.during) }
        }.sorted { $0.agent < $1.agent }
    }

    /// The headline is worse by 30% or more (and by a millisecond for round trips).
    static func headlineSpread(_ input: Input) -> AgentSpread? {
        let changes = changes(input.agents).filter { $0.before > 0 }
        guard changes.contains(where: { $0.agent == input.agent }) else { return nil }
        let floor = input.unit == "ms" ? latencyFloorMs : 0
        let worse = changes.filter { $0.during >= 1.3 * $0.before && $0.during - $0.before >= floor }
        return AgentSpread(figure: "median", unit: input.unit, changes: changes, worse: worse)
    }

    static func lossSpread(_ input: Input) -> AgentSpread? {
        let changes = changes(input.agentLoss)
        guard changes.contains(where: { $0.agent == input.agent }) else { return nil }
        let worse = changes.filter { $0.during - $0.before >= lossFloorPoints && $0.during >= 2 * $0.before }
        return AgentSpread(figure: "loss", unit: "%", changes: changes, worse: worse)
    }

    static func timeOfDay(_ input: Input) -> Cause? {
        guard let hour = input.usualAtThisHour, let overall = input.usualOverall, overall > 0,
            let during = input.headline.medians?.during, hour >= 1.3 * overall, during <= hour * 1.2
        else { return nil }
        return Cause(
            kind: .timeOfDay,
            title: "usual for this hour of the week",
            confidence: 0.6,
            evidence: [
                "at this hour the usual \(input.unit) is \(text(hour)) against \(text(overall)) over the week; the window's median is \(text(during))"
            ]
        )
    }

    private static func mostCommon(_ values: [String]) -> String {
        var counts: [String: Int] = [:]
        for value in values { counts[value, default: 0] += 1 }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? ""
    }
}

extension String {
    fileprivate var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
