import KezekCore

/// The public HTML pages: everything inline (styles and SVG charts; no scripts, no external
/// assets), readable on a phone. Figures carry `data-` attributes so tools and tests can read
/// them from the DOM.
enum PublicPages {
    /// Providers listed one by one on `/` at most; the CSV has them all.
    static let maxProviderRows = 500

    static func city(_ figures: CityFigures, rounds: [String]) -> String {
        let total = figures.total
        var body = "<h1>Seats and demand</h1>\n"
        body +=
            "<p class=\"lead\">Every provider's seats, bookings, offers, waitlists and refused bookings (unmet demand), live.</p>\n"
        body += "<div class=\"cards\">"
        for (label, field, value) in [
            ("Seats", "capacity", total.capacity), ("Booked", "booked", total.booked),
            ("Offered", "offered", total.offered), ("Free", "free", total.free),
            ("Waiting", "waiting", total.waiting), ("Refused", "refused", total.refused),
        ] {
            body +=
                "<div class=\"card\"><span class=\"n\" data-total=\"\(field)\">\(value)</span><span>\(label)</span></div>"
        }
        body += "</div>\n"
        if !rounds.isEmpty {
            body +=
                "<p>Rounds: "
                + rounds.map { "<a href=\"/rounds/\(escape($0))\">\(escape($0))</a>" }.joined(
                    separator: ", ") + "</p>\n"
        }
        body += "<h2>By district</h2>\n"
        body += SVGChart.groupedBars(
            groups: figures.districts.map {
                ($0.name, [$0.capacity, $0.booked + $0.offered, $0.waiting, $0.refused])
            },
            series: ["capacity", "booked or offered", "waiting", "refused"],
            title: "Capacity, booked or offered, waiting and refused per district")
        body += table(
            figures.districts, key: "district", firstColumn: "District", withProviders: true)
        body += "<h2>By provider</h2>\n"
        var rows = figures.providers
        if rows.count > maxProviderRows {
            rows = Array(
                rows.sorted {
                    ($0.waiting + $0.refused, $1.name) > ($1.waiting + $1.refused, $0.name)
                }.prefix(maxProviderRows))
            body +=
                "<p>The \(maxProviderRows) providers with the most unmet demand of \(figures.providers.count); all are in <a href=\"/providers.csv\">providers.csv</a>.</p>\n"
        } else {
            body += "<p>Also as <a href=\"/providers.csv\">providers.csv</a>.</p>\n"
        }
        body += table(rows, key: "provider", firstColumn: "Provider", withProviders: false)
        return page(title: "Kezek: seats and demand", body: body)
    }

    static func round(_ round: DrawPublication) -> String {
        let id = escape(round.round)
        var body = "<p><a href=\"/\">All providers</a></p>\n<h1>Round \(id)</h1>\n"
        body += "<dl>"
        body += "<dt>State</dt><dd data-round=\"state\">\(round.state)</dd>"
        body += "<dt>Applicants</dt><dd data-round=\"applicants\">\(round.applicants)</dd>"
        body +=
            "<dt>Commitment (SHA-256 of the seed, published at opening)</dt><dd><code data-round=\"commitment\">\(round.commitment)</code></dd>"
        if let seed = round.seed {
            body +=
                "<dt>Seed (published at the draw)</dt><dd><code data-round=\"seed\">\(escape(seed))</code></dd>"
        }
        body += "</dl>\n"
        if round.csv != nil {
            body += "<div class=\"cards\">"
            for (label, field, value) in [
                ("Placed", "offered", round.offered), ("Waiting", "waiting", round.waiting),
                ("Unplaced", "unplaced", round.unplaced),
            ] {
                body +=
                    "<div class=\"card\"><span class=\"n\" data-round=\"\(field)\">\(value)</span><span>\(label)</span></div>"
            }
            body += "</div>\n<h2>Where the draw placed applicants</h2>\n"
            let ranks =
                round.placedByRank.enumerated().map { ("choice \($0.offset + 1)", [$0.element]) }
                + [("unplaced", [round.unplaced])]
            body += SVGChart.groupedBars(
                groups: ranks, series: ["applicants"],
                title: "Applicants by the rank of the choice they got")
            body += "<table><thead><tr><th>Outcome</th><th>Applicants</th></tr></thead><tbody>"
            for (index, count) in round.placedByRank.enumerated() {
                body +=
                    "<tr data-rank=\"\(index + 1)\"><td>Choice \(index + 1)</td><td class=\"num\">\(count)</td></tr>"
            }
            body +=
                "<tr data-rank=\"unplaced\"><td>Unplaced</td><td class=\"num\">\(round.unplaced)</td></tr></tbody></table>\n"
            body += """
                <h2>Check the draw yourself</h2>
                <p>Your lottery number is the SHA-256 of the seed, a colon and your id:
                <code>printf '%s' '\(escape(round.seed ?? "")):YOUR-ID' | sha256sum</code>. Find it in
                <a href="/rounds/\(id)/draw.csv">draw.csv</a> (one row per applicant, sorted by lottery number, no names).
                Anyone can re-run the whole allocation from that file: <code>kezek-audit verify-draw draw.csv --seed \(escape(round.seed ?? ""))</code>.</p>

                """
        } else {
            body +=
                "<p>The round is not drawn yet: the seed is published at the draw, and it must hash to the commitment above.</p>\n"
        }
        body += "<h2>First-choice demand and seats by district</h2>\n"
        body += SVGChart.groupedBars(
            groups: round.firstChoiceByDistrict.map {
                ($0.district, [$0.applicants, $0.freeSeats])
            },
            series: ["first choices", "seats free at the draw"],
            title: "Applicants ranking the district first, and its seats free at the draw")
        body +=
            "<table><thead><tr><th>District</th><th>First choices</th><th>Seats free at the draw</th></tr></thead><tbody>"
        for entry in round.firstChoiceByDistrict {
            body +=
                "<tr data-district=\"\(escape(entry.district))\"><td>\(escape(entry.district))</td><td class=\"num first\">\(entry.applicants)</td><td class=\"num seats\">\(entry.freeSeats)</td></tr>"
        }
        body += "</tbody></table>\n"
        return page(title: "Kezek: round \(id)", body: body)
    }

    private static func table(
        _ rows: [CityFigures.Figures], key: String, firstColumn: String, withProviders: Bool
    ) -> String {
        var html = "<div class=\"scroll\"><table><thead><tr><th>\(firstColumn)</th>"
        if withProviders { html += "<th>Providers</th>" }
        html +=
            "<th>Seats</th><th>Booked</th><th>Offered</th><th>Free</th><th>Waiting</th><th>Refused</th><th>First choices</th></tr></thead><tbody>"
        for row in rows {
            html += "<tr data-\(key)=\"\(escape(row.name))\"><td>\(escape(row.name))</td>"
            if withProviders { html += "<td class=\"num providers\">\(row.providers)</td>" }
            for (field, value) in [
                ("capacity", row.capacity), ("booked", row.booked), ("offered", row.offered),
                ("free", row.free),
                ("waiting", row.waiting), ("refused", row.refused), ("first", row.firstChoice),
            ] {
                html += "<td class=\"num \(field)\">\(value)</td>"
            }
            html += "</tr>"
        }
        return html + "</tbody></table></div>\n"
    }

    private static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1d2733;line-height:1.45}
        h1{font-size:1.6rem;margin:.2rem 0 .5rem}h2{font-size:1.2rem;margin-top:2rem}
        .lead{color:#4a5a6a}.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}
        .card{flex:1 1 7rem;background:#f2f5f8;border-radius:.5rem;padding:.6rem .8rem;display:flex;flex-direction:column}
        .card .n{font-size:1.5rem;font-weight:600}.scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.3rem .5rem;border-bottom:1px solid #dde3ea;text-align:left}
        td.num{text-align:right;font-variant-numeric:tabular-nums}code{word-break:break-all;background:#f2f5f8;padding:0 .2rem}
        dt{color:#4a5a6a;margin-top:.4rem}dd{margin:0}svg{width:100%;height:auto;margin:.5rem 0}
        </style></head>
        <body>
        \(body)
        <footer><p><small>Kezek, a seat-reservation engine. Figures are live and read-only.</small></p></footer>
        </body></html>

        """
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
