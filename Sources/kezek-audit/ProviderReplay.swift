/// One provider's state rebuilt from its audit stream, entry by entry, as the contract says:
/// `book`/`unbook` the booked set, `offer`/`unoffer` the offers, `confirm` an offer becoming
/// a booking, `wait` appends to the waitlist, `unwait` removes, `capacity` sets it.
struct ProviderReplay {
    var capacity = 0
    var booked = Set<String>()
    var offered = Set<String>()
    var waiting: [String] = []
    var entries = 0
    /// Entries that did not fit (a `confirm` without an offer, an unknown op): each a difference.
    var anomalies: [String] = []

    mutating func apply(id: String, fields: [String: String]) {
        entries += 1
        let holder = fields["holder"] ?? ""
        switch fields["op"] {
        case "book": booked.insert(holder)
        case "unbook": booked.remove(holder)
        case "offer": offered.insert(holder)
        case "unoffer": offered.remove(holder)
        case "confirm":
            if offered.remove(holder) == nil { anomalies.append("\(id): confirm of \(holder) without an offer") }
            booked.insert(holder)
        case "wait": if !waiting.contains(holder) { waiting.append(holder) }
        case "unwait": waiting.removeAll { $0 == holder }
        case "capacity":
            if let value = fields["capacity"].flatMap(Int.init) { capacity = value } else { anomalies.append("\(id): capacity without a number") }
        default:
            anomalies.append("\(id): unknown op '\(fields["op"] ?? "")'")
        }
    }
}
