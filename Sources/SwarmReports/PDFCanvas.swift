import CCairo
import Foundation

/// A PDF being drawn with cairo: pages of one paper size, text in DejaVu Sans (found by
/// fontconfig, subset and embedded by cairo), the bytes collected in memory as cairo writes them.
final class PDFCanvas {
    enum Weight { case regular, bold }
    struct RGB {
        var r: Double
        var g: Double
        var b: Double
        static let black = RGB(r: 0.1, g: 0.1, b: 0.12)
        static let grey = RGB(r: 0.45, g: 0.45, b: 0.5)
        static let light = RGB(r: 0.85, g: 0.86, b: 0.88)
        static let blue = RGB(r: 0.13, g: 0.4, b: 0.75)
        static let band = RGB(r: 0.75, g: 0.84, b: 0.95)
        static let red = RGB(r: 0.8, g: 0.15, b: 0.15)
        static let amber = RGB(r: 0.85, g: 0.55, b: 0.05)
        static let green = RGB(r: 0.15, g: 0.55, b: 0.25)
    }

    /// Where cairo's write callback puts the document.
    final class Sink {
        var data = Data()
    }

    let width: Double
    let height: Double
    private let sink = Sink()
    private let surface: OpaquePointer
    let cr: OpaquePointer
    private(set) var pages = 1

    static let font = "DejaVu Sans"

    init(width: Double, height: Double, title: String, author: String) throws(ReportError) {
        self.width = width
        self.height = height
        let write: cairo_write_func_t = { closure, bytes, length in
            guard let closure, let bytes else { return CAIRO_STATUS_WRITE_ERROR }
            Unmanaged<Sink>.fromOpaque(closure).takeUnretainedValue().data.append(bytes, count: Int(length))
            return CAIRO_STATUS_SUCCESS
        }
        guard
            let surface = cairo_pdf_surface_create_for_stream(
                write,
                Unmanaged.passUnretained(sink).toOpaque(),
                width,
                height
            ), cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let cr = cairo_create(surface)
        else { throw ReportError("cairo could not create a PDF surface") }
        self.surface = surface
        self.cr = cr
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, author)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "StreamSwarm")
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    /// Ends the document and returns its bytes.
    func finish() throws(ReportError) -> Data {
        cairo_show_page(cr)
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw ReportError("cairo failed to write the PDF: \(String(cString: cairo_status_to_string(status)))")
        }
        return sink.data
    }

    func newPage() {
        cairo_show_page(cr)
        pages += 1
    }

    // MARK: - Text

    func font(_ size: Double, _ weight: Weight = .regular) {
        cairo_select_font_face(
            cr,
            Self.font,
            CAIRO_FONT_SLANT_NORMAL,
            weight == .bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL
        )
        cairo_set_font_size(cr, size)
    }

    func textWidth(_ text: String) -> Double {
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        return extents.x_advance
    }

    /// Draws `text` with its baseline at `y`, starting at `x` (or ending there when `alignRight`).
    func text(_ text: String, x: Double, y: Double, color: RGB = .black, alignRight: Bool = false) {
        set(color)
        cairo_move_to(cr, alignRight ? x - textWidth(text) : x, y)
        cairo_show_text(cr, text)
    }

    /// `text` broken into lines no wider than `width` at the current font (long words are cut).
    func wrap(_ text: String, width: Double) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            let candidate = line.isEmpty ? word : "\(line) \(word)"
            if textWidth(candidate) <= width {
                line = candidate
                continue
            }
            if !line.isEmpty { lines.append(line) }
            var rest = word
            while textWidth(rest) > width, rest.count > 1 {
                var cut = rest.count - 1
                while cut > 1 && textWidth(String(rest.prefix(cut))) > width { cut -= 1 }
                lines.append(String(rest.prefix(cut)))
                rest = String(rest.dropFirst(cut))
            }
            line = rest
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    // MARK: - Shapes

    func set(_ color: RGB, alpha: Double = 1) { cairo_set_source_rgba(cr, color.r, color.g, color.b, alpha) }

    func line(
        _ x1: Double,
        _ y1: Double,
        _ x2: Double,
        _ y2: Double,
        color: RGB,
        width: Double = 0.5,
        dash: Bool = false
    ) {
        set(color)
        cairo_set_line_width(cr, width)
        if dash {
            let pattern: [Double] = [3, 2]
            cairo_set_dash(cr, pattern, 2, 0)
        }
        cairo_move_to(cr, x1, y1)
        cairo_line_to(cr, x2, y2)
        cairo_stroke(cr)
        cairo_set_dash(cr, nil, 0, 0)
    }

    func fill(x: Double, y: Double, width: Double, height: Double, color: RGB, alpha: Double = 1) {
        set(color, alpha: alpha)
        cairo_rectangle(cr, x, y, width, height)
        cairo_fill(cr)
    }

    /// A polyline through `points`; nil values break it.
    func polyline(_ points: [(Double, Double)?], color: RGB, width: Double = 1.2) {
        set(color)
        cairo_set_line_width(cr, width)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        var open = false
        for point in points {
            guard let (x, y) = point else {
                open = false
                continue
            }
            if open { cairo_line_to(cr, x, y) } else { cairo_move_to(cr, x, y) }
            open = true
        }
        cairo_stroke(cr)
    }

    /// The area between an upper and a lower polyline (a percentile band); gaps end a piece.
    func band(_ pieces: [[(x: Double, low: Double, high: Double)]], color: RGB, alpha: Double) {
        set(color, alpha: alpha)
        for piece in pieces where piece.count >= 2 {
            cairo_move_to(cr, piece[0].x, piece[0].high)
            for p in piece.dropFirst() { cairo_line_to(cr, p.x, p.high) }
            for p in piece.reversed() { cairo_line_to(cr, p.x, p.low) }
            cairo_close_path(cr)
            cairo_fill(cr)
        }
    }

    func dot(x: Double, y: Double, radius: Double, color: RGB) {
        set(color)
        cairo_arc(cr, x, y, radius, 0, 2 * .pi)
        cairo_fill(cr)
    }
}
