/// Replays one audit log (one lease's stream) from its start: checks that its steps come in
/// order (epochs never go back; within an epoch `seq` counts 1, 2, 3 …, a step split over
/// consecutive entries repeating its `seq`; a new epoch starts again at 1) and rebuilds every
/// provider it names.
struct LogReplay {
    /// One change as the log records it, for `--holder` and `--provider` histories.
    struct Change {
        let entry: String
        let epoch: Int
        let seq: Int
        let op: String
        let provider: String
        let subject: String
        let cause: String?
    }

    private(set) var providers: [String: ProviderReplay] = [:]
    private(set) var entries = 0
    private(set) var changes = 0
    /// Entries out of order or malformed: each a difference.
    private(set) var anomalies: [String] = []
    private var epoch = 0
    private var seq = 0

    /// Applies the entry `id` with its flat field/value list; `each` sees every change.
    mutating func apply(id: String, fields: [String], _ each: (Change) -> Void) {
        entries += 1
        guard fields.count >= 4, fields.count % 2 == 0, fields[0] == "epoch", fields[2] == "seq",
            let entryEpoch = Int(fields[1]), let entrySeq = Int(fields[3])
        else {
            anomalies.append("\(id): does not start with epoch and seq")
            return
        }
        checkOrder(id: id, epoch: entryEpoch, seq: entrySeq)
        for index in stride(from: 4, to: fields.count, by: 2) {
            let words = fields[index + 1].split(separator: " ").map(String.init)
            guard words.count == 2 || words.count == 4 else {
                anomalies.append(
                    "\(id): change '\(fields[index]) \(fields[index + 1])' is not '<provider> <holder>[ <round> <rank>]'"
                )
                continue
            }
            changes += 1
            providers[words[0], default: ProviderReplay()].apply(
                op: fields[index], subject: words[1], entry: id)
            each(
                Change(
                    entry: id, epoch: entryEpoch, seq: entrySeq, op: fields[index],
                    provider: words[0], subject: words[1],
                    cause: words.count == 4 ? "round \(words[2]), choice \(words[3])" : nil))
        }
    }

    private mutating func checkOrder(id: String, epoch entryEpoch: Int, seq entrySeq: Int) {
        defer { (epoch, seq) = (max(epoch, entryEpoch), entryEpoch >= epoch ? entrySeq : seq) }
        if entryEpoch < epoch {
            anomalies.append(
                "\(id): epoch \(entryEpoch) after epoch \(epoch) (epochs never go back)")
        } else if entryEpoch > epoch {
            if entrySeq != 1 {
                anomalies.append("\(id): epoch \(entryEpoch) starts at seq \(entrySeq), not 1")
            }
        } else if entrySeq != seq && entrySeq != seq + 1 {
            anomalies.append(
                "\(id): seq \(entrySeq) after seq \(seq) in epoch \(entryEpoch) (a step missing, forged or out of order)"
            )
        }
    }
}
