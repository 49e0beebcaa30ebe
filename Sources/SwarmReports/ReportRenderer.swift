// why: the PDF comes back as Foundation Data.
public import Foundation
import SwarmAnalytics
import SwarmCore
import SwarmStore

/// Lays a ``Report`` out as a PDF: cover with the summary, a table of every test, a page part
/// per charted test, devices, incidents, findings and recommendations; page numbers in the
/// footer. Drawn twice: the first pass counts the pages the footer names.
public enum ReportRenderer {
    public static func pdf(_ report: Report) throws(ReportError) -> Data { try render(report).data }

    /// The PDF and its page count.
    public static func render(_ report: Report) throws(ReportError) -> (data: Data, pages: Int) {
        let pages = try draw(report, totalPages: nil).pages
        return try draw(report, totalPages: pages)
    }

    private static func draw(_ report: Report, totalPages: Int?) throws(ReportError) -> (data: Data, pages: Int) {
        let size = report.request.paper.size
        let canvas = try PDFCanvas(
            width: size.width,
            height: size.height,
            title: report.title,
            author: report.request.generatedBy
        )
        var page = Page(canvas: canvas, report: report, totalPages: totalPages)
        page.cover()
        page.testTable()
        for section in report.sections where !section.buckets.isEmpty { page.test(section) }
        page.devices()
        page.incidents()
        page.findings()
        page.recommendations()
        page.footer()
        let pages = canvas.pages
        return (try canvas.finish(), pages)
    }
}

/// The cursor through the pages: `y` is where the next thing goes.
struct Page {
    let canvas: PDFCanvas
    let report: Report
    let totalPages: Int?
    let margin = 48.0
    var y = 48.0

    init(canvas: PDFCanvas, report: Report, totalPages: Int?) {
        self.canvas = canvas
        self.report = report
        self.totalPages = totalPages
    }

    var left: Double { margin }
    var width: Double { canvas.width - 2 * margin }
    var bottom: Double { canvas.height - margin - 14 }

    /// Starts a new page unless `height` still fits on this one.
    mutating func need(_ height: Double) {
        guard y + height > bottom else { return }
        footer()
        canvas.newPage()
        y = margin
    }

    func footer() {
        canvas.font(7)
        let period = "\(Format.time(report.request.period.from)) – \(Format.time(report.request.period.to))"
        canvas.text("StreamSwarm · \(report.title) · \(period)", x: left, y: canvas.height - margin + 10, color: .grey)
        let number = totalPages.map { "Page \(canvas.pages) of \($0)" } ?? "Page \(canvas.pages)"
        canvas.text(number, x: left + width, y: canvas.height - margin + 10, color: .grey, alignRight: true)
        canvas.line(left, canvas.height - margin, left + width, canvas.height - margin, color: .light)
    }

    mutating func heading(_ text: String, size: Double = 14) {
        need(size + 40)
        y += size + 6
        canvas.font(size, .bold)
        canvas.text(text, x: left, y: y)
        y += 8
    }

    mutating func paragraph(_ text: String, size: Double = 9, color: PDFCanvas.RGB = .black, indent: Double = 0) {
        canvas.font(size)
        for line in canvas.wrap(text, width: width - indent) {
            need(size + 3)
            y += size + 3
            canvas.text(line, x: left + indent, y: y, color: color)
        }
    }

    /// Rows of cells at fixed column offsets (fractions of the width); the first row is the header.
    mutating func table(_ rows: [[String]], columns: [Double], size: Double = 8) {
        for (index, row) in rows.enumerated() {
            need(size + 6)
            y += size + 4
            canvas.font(size, index == 0 ? .bold : .regular)
            for (cell, column) in zip(row, columns) {
                let room = (columns.first { $0 > column } ?? 1) - column
                var text = cell
                while canvas.textWidth(text) > room * width - 4 && text.count > 1 {
                    text = String(text.dropLast(2)) + "…"
                }
                canvas.text(text, x: left + column * width, y: y, color: index == 0 ? .grey : .black)
            }
            if index == 0 { canvas.line(left, y + 3, left + width, y + 3, color: .light) }
        }
        y += 6
    }

    static func source(_ resolution: String?) -> String {
        switch resolution {
        case "raw": "the raw results (short buckets of a short period)"
        case "hour": "the store's 1-hour rollups"
        default: "the store's 1-minute rollups"
        }
    }

    static func color(_ state: HealthState?) -> PDFCanvas.RGB {
        switch state {
        case .healthy: .green
        case .degraded: .amber
        case .failing: .red
        case nil: .grey
        }
    }

    // MARK: - Parts

    mutating func cover() {
        let request = report.request
        y = margin + 40
        canvas.font(24, .bold)
        canvas.text(report.title, x: left, y: y)
        y += 24
        canvas.font(11)
        canvas.text(report.scopeDescription, x: left, y: y, color: .grey)
        y += 30
        let span = request.period.to - request.period.from
        table(
            [
                ["", ""],
                [
                    "Period",
                    "\(Format.time(request.period.from)) – \(Format.time(request.period.to)) (\(Format.duration(span)))",
                ],
                ["Scope", request.scope.description],
                ["Generated at", Format.time(report.generatedAt)],
                ["Generated by", request.generatedBy],
                ["Paper", request.paper == .a4 ? "A4" : "Letter"],
            ],
            columns: [0, 0.25],
            size: 10
        )
        heading("Summary")
        if let health = report.health {
            canvas.font(12, .bold)
            need(20)
            y += 16
            canvas.fill(x: left, y: y - 10, width: 10, height: 10, color: Self.color(health.state))
            canvas.text(
                "Health: \(health.state.rawValue), score \(Format.number(health.score)) of 100",
                x: left + 16,
                y: y
            )
            y += 4
        } else {
            paragraph("No test in this scope has results in the period.")
        }
        table([["Figure", "Value"]] + report.figures.map { [$0.name, $0.value] }, columns: [0, 0.35], size: 10)
        if let section = report.sections.first, report.sections.count == 1 {
            table(
                [["Test figure", "Value"]] + section.figures.map { [$0.name, $0.value] },
                columns: [0, 0.35],
                size: 10
            )
        }
        let worst = report.health?.factors.filter { $0.state != .healthy }.prefix(6) ?? []
        if !worst.isEmpty {
            paragraph("What weighs on the health:", size: 10)
            for factor in worst {
                paragraph(
                    "• \(factor.name): \(Format.number(factor.value)) (\(factor.state.rawValue)) — \(factor.detail)",
                    size: 9,
                    indent: 8
                )
            }
        }
        paragraph(
            "Figures come from \(Self.source(report.sections.first?.resolution)); percentiles of the period come from the buckets' percentiles (exact where a bucket holds one run). Findings judge the last \(Format.duration(report.findingsWindow)) of the period, and each alert's own time, against the week before.",
            size: 8,
            color: .grey
        )
    }

    mutating func testTable() {
        guard !report.sections.isEmpty else { return }
        heading("Tests")
        let rows = report.sections.map { s -> [String] in
            let figure = { (name: String) in s.figures.first { $0.name.hasSuffix(name) }?.value ?? "–" }
            return [
                "\(s.id)", s.name, "\(s.kind.rawValue) → \(s.target)", figure("runs"), figure("availability"),
                figure("p50") == "–" ? figure("mean") : figure("p50"), figure("loss"),
                s.health.map { "\($0.state.rawValue) \(Format.number($0.score))" } ?? "–",
            ]
        }
        table(
            [["ID", "Test", "Kind → target", "Runs", "Avail.", "p50 / mean", "Loss", "Health"]] + rows,
            columns: [0, 0.06, 0.27, 0.5, 0.59, 0.7, 0.82, 0.89]
        )
        if !report.uncharted.isEmpty {
            paragraph(
                "Charted below: the \(report.sections.count - report.uncharted.count) worst tests; not charted: \(report.uncharted.joined(separator: ", ")).",
                size: 8,
                color: .grey
            )
        }
    }

    mutating func test(_ s: Report.TestSection) {
        need(300)
        heading("Test \(s.id): \(s.name)", size: 12)
        paragraph(
            "\(s.kind.rawValue) to \(s.target); buckets of \(Format.duration(.seconds(s.bucketSeconds))) (\(s.resolution)); health \(s.health.map { "\($0.state.rawValue), \(Format.number($0.score))" } ?? "not assessed")",
            size: 8,
            color: .grey
        )
        paragraph(s.figures.map { "\($0.name) \($0.value)" }.joined(separator: " · "), size: 9)
        let period = report.request.period
        var chart = TimeChart(
            title: SectionReader.figureName(s.kind).capitalizedFirst,
            unit: s.unit,
            from: period.from,
            to: period.to
        )
        let hasPercentiles = s.buckets.contains { $0.p50 != nil }
        if hasPercentiles {
            chart.band = (
                "p50–p90", s.buckets.map { b in (b.start, b.p50.flatMap { l in b.p90.map { (l, $0) } }) }
            )
            chart.lines = [
                .init(name: "p50", color: .blue, points: s.buckets.map { ($0.start, $0.p50) }),
                .init(name: "p99", color: .grey, points: s.buckets.map { ($0.start, $0.p99) }, width: 0.6),
            ]
        } else {
            chart.band = ("min–max", s.buckets.map { b in (b.start, b.min.flatMap { l in b.max.map { (l, $0) } }) })
            chart.lines = [.init(name: "mean", color: .blue, points: s.buckets.map { ($0.start, $0.avg) })]
        }
        chart.markers =
            s.pathChanges.map { .init(at: $0, label: "path", color: .amber) }
            + s.levelShifts.map { .init(at: $0, label: "shift", color: .red) }
        need(190)
        chart.draw(on: canvas, x: left, y: y + 6, width: width, height: 180)
        y += 190
        if s.buckets.contains(where: { ($0.lossPercent ?? 0) > 0 }) {
            var loss = TimeChart(title: "Loss", unit: "%", from: period.from, to: period.to)
            loss.bars = ("loss %", .red, s.buckets.compactMap { b in b.lossPercent.map { (b.start, $0) } })
            need(130)
            loss.draw(on: canvas, x: left, y: y + 6, width: width, height: 120)
            y += 130
        } else if s.buckets.contains(where: { $0.lossPercent != nil }) {
            paragraph("No loss in the period.", size: 8)
        }
        if !s.pathChanges.isEmpty {
            paragraph(
                "Path changes (traceroute hop count changed): \(s.pathChanges.prefix(12).map(Format.time).joined(separator: ", "))\(s.pathChanges.count > 12 ? " and \(s.pathChanges.count - 12) more" : "")",
                size: 8
            )
        }
        table(
            [["Agent", "Runs", "Availability", "p50 / mean", "Loss"]]
                + s.agents.map {
                    [
                        $0.agent, "\($0.runs)", $0.availabilityPercent.map(Format.percent) ?? "–",
                        Format.value($0.p50, s.unit), $0.lossPercent.map(Format.percent) ?? "–",
                    ]
                },
            columns: [0, 0.35, 0.5, 0.67, 0.84]
        )
    }

    mutating func devices() {
        guard !report.devices.isEmpty else { return }
        heading("Devices (gNMI)")
        for device in report.devices.prefix(8) {
            var chart = TimeChart(
                title: "\(device.device): CPU",
                unit: "%",
                from: report.request.period.from,
                to: report.request.period.to
            )
            chart.lines = [.init(name: "CPU %", color: .blue, points: device.points.map { ($0.start, $0.value) })]
            need(140)
            chart.draw(on: canvas, x: left, y: y + 6, width: width, height: 130)
            y += 140
        }
    }

    mutating func incidents() {
        heading("Incidents and alerts")
        guard !report.incidents.isEmpty else {
            paragraph("No alert was open in this period.")
            return
        }
        for incident in report.incidents {
            need(30)
            table(
                [
                    ["Raised", "Cleared", "Severity", "Rule", "Scope"],
                    [
                        Format.time(incident.raisedAt), incident.clearedAt.map(Format.time) ?? "open",
                        incident.severity,
                        incident.rule, incident.scope,
                    ],
                ],
                columns: [0, 0.22, 0.44, 0.56, 0.78],
                size: 8
            )
            y -= 6
            paragraph(incident.message, size: 8, color: .grey, indent: 8)
            y += 4
        }
        if report.moreIncidents > 0 {
            paragraph("… and \(report.moreIncidents) more alerts in the period.", size: 8, color: .grey)
        }
    }

    mutating func findings() {
        heading("Findings")
        guard !report.findings.isEmpty else {
            paragraph(
                "Nothing unusual in the last \(Format.duration(report.findingsWindow)) of the period: every test and agent is healthy, with no anomalies or likely causes to report."
            )
            return
        }
        for finding in report.findings {
            need(50)
            canvas.font(10, .bold)
            y += 14
            canvas.fill(x: left, y: y - 8, width: 8, height: 8, color: Self.color(finding.health.state))
            canvas.text(
                "\(finding.test) on \(finding.agent): \(finding.health.state.rawValue), score \(Format.number(finding.health.score))",
                x: left + 12,
                y: y
            )
            paragraph(finding.context, size: 8, color: .grey, indent: 12)
            for factor in finding.health.factors where factor.state != .healthy {
                paragraph(
                    "• \(factor.name) \(Format.number(factor.value)) (\(factor.state.rawValue)): \(factor.detail)",
                    size: 8,
                    indent: 12
                )
            }
            if finding.anomalies > 0 { paragraph("• \(finding.anomalies) anomalous run(s)", size: 8, indent: 12) }
            for cause in finding.causes {
                paragraph(
                    "Likely cause: \(cause.title) (confidence \(Format.number(cause.confidence)))",
                    size: 9,
                    indent: 12
                )
                for evidence in cause.evidence { paragraph("– \(evidence)", size: 8, color: .grey, indent: 22) }
            }
            if let days = finding.certificateDaysLeft {
                paragraph("• TLS certificate: \(Format.number(days)) days left", size: 8, indent: 12)
            }
            y += 4
        }
    }

    mutating func recommendations() {
        heading("Recommendations")
        guard !report.recommendations.isEmpty else {
            paragraph(
                report.findings.isEmpty
                    ? "No findings in this period call for action."
                    : "The findings above call for no action of their own."
            )
            return
        }
        for (index, line) in report.recommendations.enumerated() { paragraph("\(index + 1). \(line)", size: 9) }
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
