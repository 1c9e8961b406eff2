/// One provider rebuilt from the audit log's changes (PROTOCOL.md "Transparency"): `wait`
/// appends, `confirm` turns the holder's offer into a booking.
struct ProviderReplay {
    var capacity = 0
    var booked = Set<String>()
    var offered = Set<String>()
    var waiting: [String] = []
    /// Changes that did not fit (a `confirm` without an offer, an unknown op): each a difference.
    var anomalies: [String] = []

    /// `subject` is the holder, or the capacity for `capacity`.
    mutating func apply(op: String, subject: String, entry: String) {
        switch op {
        case "book": booked.insert(subject)
        case "unbook": booked.remove(subject)
        case "offer": offered.insert(subject)
        case "unoffer": offered.remove(subject)
        case "confirm":
            if offered.remove(subject) == nil {
                anomalies.append("\(entry): confirm of \(subject) without an offer")
            }
            booked.insert(subject)
        case "wait": if !waiting.contains(subject) { waiting.append(subject) }
        case "unwait": waiting.removeAll { $0 == subject }
        case "capacity":
            if let value = Int(subject) {
                capacity = value
            } else {
                anomalies.append("\(entry): capacity '\(subject)' is not a number")
            }
        default:
            anomalies.append("\(entry): unknown op '\(op)'")
        }
    }
}
