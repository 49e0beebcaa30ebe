import SwarmAnalytics

/// What to do, from the findings only: each line names the test, the agent and the numbers that
/// call for it. A report without findings has no recommendations (it says so), never filler.
enum Recommendations {
    static func make(_ report: Report) -> [String] {
        var lines: [String] = []
        for finding in report.findings {
            let scope = "\(finding.test) on \(finding.agent)"
            for cause in finding.causes.prefix(2) {
                if let line = advice(cause, scope: scope) { lines.append(line) }
            }
            for factor in finding.health.factors where factor.state != .healthy {
                if let line = advice(factor, scope: scope) { lines.append(line) }
            }
            if let days = finding.saturationDays, days < 90 {
                lines.append(
                    "\(scope): at the current trend the figure reaches 100% in \(Format.number(days)) days; plan capacity before then."
                )
            }
        }
        // A rule that raised again and again in one period is noise or an unfixed cause.
        let raises = Dictionary(grouping: report.incidents, by: \.rule).mapValues(\.count)
        for (rule, count) in raises.sorted(by: { $0.key < $1.key }) where count >= 5 {
            lines.append(
                "Alert rule '\(rule)' raised \(count) times in the period: fix the cause it reports, or widen the gap between its raise and clear levels if it flaps."
            )
        }
        var seen: Set<String> = []
        return lines.filter { seen.insert($0).inserted }
    }

    static func advice(_ cause: Diagnosis.Cause, scope: String) -> String? {
        let evidence = cause.evidence.first.map { " (\($0))" } ?? ""
        switch cause.kind {
        case .pathChange:
            return
                "\(scope): the path changed\(evidence). Check the routing change with the network's owner; if it is intended, the baseline relearns on its own."
        case .phase:
            let what =
                cause.title.contains("dns")
                ? "check the resolvers the agent uses"
                : cause.title.contains("tls")
                    ? "check the server's TLS termination (certificate chain, handshake load)"
                    : cause.title.contains("first byte")
                        ? "the server application is slower to answer: check its load"
                        : "check the server's accept backlog and the path to it"
            return "\(scope): \(cause.title)\(evidence); \(what)."
        case .device:
            return
                "\(scope): \(cause.title)\(evidence). Check that device's load, errors and drops; add capacity or move traffic if it stays high."
        case .hostSaturation:
            return
                "\(scope): the agent's host is saturated\(evidence); its measurements are unreliable until it has headroom (fewer tests or a bigger host)."
        case .localToAgent:
            return "\(scope): only this agent sees it\(evidence); look at its access link and local network first."
        case .shared:
            return "\(scope): most agents see it\(evidence); the cause is on the shared path or the target itself."
        case .timeOfDay:
            return
                "\(scope): it is usual at this hour of the week\(evidence); plan capacity for the busy hour or accept it as the normal load."
        }
    }

    static func advice(_ factor: HealthFactor, scope: String) -> String? {
        let value = Format.number(factor.value)
        return switch factor.name {
        case "loss_percent":
            "\(scope): loss \(value)% (\(factor.state.rawValue); 1% is noticeable, 5% breaks calls): find where packets are dropped with a traceroute test to the same target."
        case "one_way_delay_ms":
            "\(scope): one-way delay \(value) ms exceeds ITU-T G.114's 150 ms for interactive traffic: shorten the path or move the service closer."
        case "failed_runs_percent":
            "\(scope): \(value)% of the runs failed: check that the target is up and reachable from this agent."
        case "mos":
            "\(scope): MOS \(value) is below 4.0: calls on this path sound degraded; reduce loss and jitter first."
        case "certificate_days_left":
            "\(scope): the TLS certificate has \(value) days left: renew it now."
        case "level_shifts":
            "\(scope): the figure changed level \(value) time(s) at the end of the period: compare with the path changes and device figures above; a lasting new level becomes the baseline within a week."
        case "anomalous_runs_percent":
            "\(scope): \(value)% of the runs were anomalous: 'streamswarm analyze' on the test lists each with its reasons."
        case "baseline_deviation":
            "\(scope): the figure is \(value) robust sigmas from its usual value for this hour of the week: look for what changed (path, load, the target)."
        case "runs_in_window":
            "\(scope): no results at the end of the period: check that the agent is online and the test active."
        default: nil
        }
    }
}
