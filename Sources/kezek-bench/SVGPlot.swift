// Latency by percentile as a hand-written SVG: x is log-scale in 1/(1-p) from 0% to 99.99%,
// y is latency in milliseconds, one line per series (e.g. burst and cancel phases).
import Foundation
import Histogram

enum SVGPlot {
    struct Series {
        let name: String
        let histogram: Histogram<UInt64>
    }

    static let width = 900.0, height = 520.0
    static let left = 80.0, right = 30.0, top = 50.0, bottom = 70.0
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"]
    /// x axis spans 10^0 .. 10^4 in 1/(1-p): 0%, 90%, 99%, 99.9%, 99.99%.
    static let decades = 4.0

    static func render(title: String, series: [Series]) -> String {
        let plotW = width - left - right, plotH = height - top - bottom
        // Sample each series at evenly spaced points of the log axis.
        let steps = 400
        var curves: [[(x: Double, ms: Double)]] = []
        var maxMs = 0.0
        for s in series {
            var pts: [(Double, Double)] = []
            if s.histogram.totalCount > 0 {
                for k in 0...steps {
                    let x = decades * Double(k) / Double(steps)
                    let p = 100.0 * (1.0 - pow(10.0, -x))
                    let ms = Double(s.histogram.valueAtPercentile(p)) / 1000.0
                    pts.append((x, ms))
                    maxMs = max(maxMs, ms)
                }
            }
            curves.append(pts)
        }
        let (yMax, yStep) = niceScale(maxMs)
        func px(_ x: Double) -> Double { left + plotW * x / decades }
        func py(_ ms: Double) -> Double { top + plotH * (1 - ms / yMax) }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(width / 2))" y="28" text-anchor="middle" font-size="16">\(escape(title))</text>

            """
        // Grid and y ticks.
        var v = 0.0
        while v <= yMax + yStep / 2 {
            let y = py(v)
            svg +=
                "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>\n"
            svg +=
                "<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(label(v, yStep))</text>\n"
            v += yStep
        }
        // x ticks at each decade.
        let xLabels = ["0%", "90%", "99%", "99.9%", "99.99%"]
        for (d, text) in xLabels.enumerated() {
            let x = px(Double(d))
            svg +=
                "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
            svg +=
                "<text x=\"\(f(x))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(text)</text>\n"
        }
        // Axes.
        svg +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        svg +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        svg +=
            "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 22))\" text-anchor=\"middle\">percentile (log scale of 1/(1-p))</text>\n"
        svg +=
            "<text transform=\"translate(22 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">latency (ms)</text>\n"
        // Curves.
        for (i, pts) in curves.enumerated() where !pts.isEmpty {
            let color = colors[i % colors.count]
            let d = pts.enumerated().map { (k, p) in
                (k == 0 ? "M" : "L") + "\(f(px(p.x))),\(f(py(p.ms)))"
            }
            .joined(separator: " ")
            svg += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            let ly = top + 16 + Double(i) * 18
            svg +=
                "<line x1=\"\(f(left + 14))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + 38))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            let s = LatencySummary(series[i].histogram)
            svg +=
                "<text x=\"\(f(left + 44))\" y=\"\(f(ly))\">\(escape(series[i].name)) (n=\(s.count), p99 \(LatencySummary.show(s.p99)), max \(LatencySummary.show(s.max)))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    static func write(title: String, series: [Series], to path: String) throws {
        try render(title: title, series: series).write(
            toFile: path, atomically: true, encoding: .utf8)
    }

    /// A round upper bound and tick step for 0...maxValue (about 5 ticks).
    static func niceScale(_ maxValue: Double) -> (Double, Double) {
        guard maxValue > 0 else { return (1, 0.2) }
        let rough = maxValue / 5
        // Steps of 1, 2, 2.5 or 5 times a power of ten.
        let mag = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= rough } ?? 10 * mag
        return (ceil(maxValue / step) * step, step)
    }

    /// A tick value with as many decimals as the step needs (2.5 -> "2.5", 0.2 -> "0.2").
    private static func label(_ v: Double, _ step: Double) -> String {
        var digits = 0
        while digits < 6 {
            let scaled = step * pow(10, Double(digits))
            if abs(scaled - scaled.rounded()) < 1e-9 { break }
            digits += 1
        }
        return String(format: "%.\(digits)f", v)
    }

    private static func f(_ x: Double) -> String { String(format: "%.1f", x) }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
