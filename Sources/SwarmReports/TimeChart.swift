import Foundation
import SwarmCore

/// A vector time chart: axes with round ticks, lines, a band, bars and marked moments.
struct TimeChart {
    struct Line {
        var name: String
        var color: PDFCanvas.RGB
        var points: [(Timestamp, Double?)]
        var width = 1.2
    }
    struct Marker {
        var at: Timestamp
        var label: String
        var color: PDFCanvas.RGB
    }

    var title: String
    var unit: String
    var from: Timestamp
    var to: Timestamp
    var lines: [Line] = []
    /// Low and high per time (a percentile band); nil breaks it.
    var band: (name: String, points: [(Timestamp, (Double, Double)?)])?
    var bars: (name: String, color: PDFCanvas.RGB, points: [(Timestamp, Double)])?
    var markers: [Marker] = []
    /// The y axis starts at 0 unless the values are far from it.
    var fromZero = true

    func draw(on canvas: PDFCanvas, x: Double, y: Double, width: Double, height: Double) {
        canvas.font(9, .bold)
        canvas.text(unit.isEmpty ? title : "\(title) (\(unit))", x: x, y: y + 9)
        let plot = (x: x + 44, y: y + 18, width: width - 52, height: height - 40)
        let values =
            lines.flatMap { $0.points.compactMap(\.1) }
            + (band?.points.compactMap { $0.1.map { [$0.0, $0.1] } }.flatMap { $0 } ?? [])
            + (bars?.points.map(\.1) ?? [])
        canvas.line(plot.x, plot.y + plot.height, plot.x + plot.width, plot.y + plot.height, color: .grey)
        canvas.line(plot.x, plot.y, plot.x, plot.y + plot.height, color: .grey)
        guard let high = values.max(), let low = values.min() else {
            canvas.font(8)
            canvas.text("no values in the period", x: plot.x + 8, y: plot.y + plot.height / 2, color: .grey)
            return
        }
        let ticks = Self.ticks(low: fromZero ? min(0, low) : low, high: high)
        let (bottom, top) = (ticks.first ?? 0, ticks.last ?? 1)
        let span = to.unixNanos - from.unixNanos
        func px(_ t: Timestamp) -> Double {
            plot.x + plot.width * Double(t.unixNanos - from.unixNanos) / Double(max(1, span))
        }
        func py(_ v: Double) -> Double { plot.y + plot.height * (1 - (v - bottom) / max(1e-12, top - bottom)) }

        canvas.font(7)
        for tick in ticks {
            canvas.line(plot.x, py(tick), plot.x + plot.width, py(tick), color: .light, width: 0.3)
            canvas.text(Self.label(tick), x: plot.x - 4, y: py(tick) + 2.5, color: .grey, alignRight: true)
        }
        for tick in Self.timeTicks(from: from, to: to, count: 5) {
            canvas.line(px(tick), plot.y + plot.height, px(tick), plot.y + plot.height + 3, color: .grey)
            let text = Self.timeLabel(tick, span: to - from)
            canvas.text(text, x: px(tick) - canvas.textWidth(text) / 2, y: plot.y + plot.height + 11, color: .grey)
        }
        if let bars {
            let barWidth = max(0.6, plot.width / Double(max(1, bars.points.count)) * 0.8)
            for (t, v) in bars.points where v > 0 {
                canvas.fill(
                    x: px(t),
                    y: py(v),
                    width: barWidth,
                    height: py(bottom) - py(v),
                    color: bars.color
                )
            }
        }
        if let band {
            var pieces: [[(x: Double, low: Double, high: Double)]] = [[]]
            for (t, range) in band.points {
                if let (l, h) = range {
                    pieces[pieces.count - 1].append((px(t), py(l), py(h)))
                } else if !(pieces.last ?? []).isEmpty {
                    pieces.append([])
                }
            }
            canvas.band(pieces, color: .band, alpha: 0.9)
        }
        for line in lines {
            canvas.polyline(line.points.map { t, v in v.map { (px(t), py($0)) } }, color: line.color, width: line.width)
        }
        for marker in markers {
            let mx = px(marker.at)
            canvas.line(mx, plot.y, mx, plot.y + plot.height, color: marker.color, width: 0.7, dash: true)
            canvas.font(6)
            canvas.text(marker.label, x: mx + 1.5, y: plot.y + 6, color: marker.color)
        }
        // Legend under the axis labels.
        var lx = plot.x
        let ly = plot.y + plot.height + 20
        canvas.font(7)
        var entries: [(String, PDFCanvas.RGB)] = lines.map { ($0.name, $0.color) }
        if let band { entries.append((band.name, .band)) }
        if let bars { entries.append((bars.name, bars.color)) }
        for marker in Dictionary(grouping: markers, by: \.label).keys.sorted() {
            if let color = markers.first(where: { $0.label == marker })?.color { entries.append((marker, color)) }
        }
        for (name, color) in entries {
            canvas.fill(x: lx, y: ly - 5, width: 8, height: 5, color: color)
            canvas.text(name, x: lx + 11, y: ly, color: .black)
            lx += 11 + canvas.textWidth(name) + 12
        }
    }

    /// About five round values covering low...high (1, 2 or 5 times a power of ten apart).
    static func ticks(low: Double, high: Double) -> [Double] {
        let range = high - low
        guard range > 0 else {
            if high == 0 { return [0, 1] }
            let step = max(abs(high) * 0.5, 1)
            return [high - step, high, high + step]
        }
        let raw = range / 5
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        let start = floor(low / step) * step
        var ticks: [Double] = []
        var tick = start
        while tick < high + step * 0.999 {
            ticks.append(tick)
            tick += step
        }
        return ticks
    }

    static func label(_ value: Double) -> String {
        abs(value) >= 1000 ? String(format: "%.0f", value) : Format.number(value)
    }

    static func timeTicks(from: Timestamp, to: Timestamp, count: Int) -> [Timestamp] {
        let span = to.unixNanos - from.unixNanos
        guard span > 0 else { return [from] }
        return (0...count).map { Timestamp(unixNanos: from.unixNanos + span / Int64(count) * Int64($0)) }
    }

    /// Month, day and time for a period of up to ten days, dates beyond.
    static func timeLabel(_ t: Timestamp, span: Duration) -> String {
        let text = Format.time(t)
        return span <= .seconds(10 * 86_400) ? String(text.dropFirst(5).prefix(11)) : String(text.prefix(10))
    }
}
