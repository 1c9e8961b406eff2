/// Inline SVG bar charts for the public pages: horizontal bars, one group per label and one
/// bar per series, drawn to a common scale, with the values written next to the bars.
enum SVGChart {
    static let colors = ["#2b6cb0", "#38a169", "#dd6b20", "#c53030"]
    /// Groups drawn at most; the tables under the charts have them all.
    static let maxGroups = 60

    static func groupedBars(
        groups: [(label: String, values: [Int])], series: [String], title: String
    ) -> String {
        let shown = Array(groups.prefix(maxGroups))
        guard !shown.isEmpty else { return "" }
        let largest = max(1, shown.flatMap(\.values).max() ?? 1)
        // A narrow drawing, so that its text stays legible when a phone scales it to its width.
        let barHeight = 12, gap = 8, labelWidth = 110, chartWidth = 250, valueWidth = 60
        let groupHeight = series.count * barHeight + gap
        let legendHeight = 24
        let height = legendHeight + shown.count * groupHeight
        let width = labelWidth + chartWidth + valueWidth
        var svg =
            "<svg viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(PublicPages.escape(title))\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">"
        svg += "<title>\(PublicPages.escape(title))</title>"
        var x = 0
        for (index, name) in series.enumerated() {
            svg +=
                "<rect x=\"\(x)\" y=\"4\" width=\"10\" height=\"10\" fill=\"\(colors[index % colors.count])\"/>"
            svg +=
                "<text x=\"\(x + 13)\" y=\"13\" font-size=\"10\">\(PublicPages.escape(name))</text>"
            x += 13 + 5 * name.count + 10
        }
        for (row, group) in shown.enumerated() {
            let top = legendHeight + row * groupHeight
            svg +=
                "<text x=\"0\" y=\"\(top + series.count * barHeight / 2 + 4)\">\(PublicPages.escape(String(group.label.prefix(16))))</text>"
            for (index, value) in group.values.enumerated() {
                let length = max(value > 0 ? 1 : 0, value * chartWidth / largest)
                let y = top + index * barHeight
                svg +=
                    "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(length)\" height=\"\(barHeight - 1)\" fill=\"\(colors[index % colors.count])\"/>"
                svg +=
                    "<text x=\"\(labelWidth + length + 4)\" y=\"\(y + barHeight - 2)\" font-size=\"10\">\(value)</text>"
            }
        }
        return svg + "</svg>\n"
    }
}
