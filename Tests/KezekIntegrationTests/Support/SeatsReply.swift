/// Parses `+SEATS capacity=1 booked=2 free=3 waiting=4 refused=5` and any fields added after
/// them (`offered=`); nil when malformed or when one of the five is missing.
func parseSeats(_ reply: String) -> [String: Int]? {
    let parts = reply.split(separator: " ")
    guard parts.first == "+SEATS", parts.count >= 6 else { return nil }
    var fields: [String: Int] = [:]
    for part in parts.dropFirst() {
        let pair = part.split(separator: "=", maxSplits: 1)
        guard pair.count == 2, let value = Int(pair[1]) else { return nil }
        fields[String(pair[0])] = value
    }
    guard Set(fields.keys).isSuperset(of: ["capacity", "booked", "free", "waiting", "refused"])
    else { return nil }
    return fields
}
