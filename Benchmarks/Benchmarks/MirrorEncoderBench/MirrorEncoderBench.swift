// MirrorBatchEncoder on batches of 1,000 BOOK writes: all to one provider (they merge into
// two SADDs of at most 512 members), and spread round-robin over 100 providers (no two
// neighbours share a provider: 1,000 single-member SADDs). One op = one batch of 1,000 writes.
//
// A MirrorWrite is made by a provider and reached through `MirrorOutbox.drain(into:)`.
import Benchmark
import KezekCore

/// 1,000 BOOK writes made by `providers` providers, round-robin, drained from their outbox.
private func bookWrites(providers providerCount: Int) -> [MirrorWrite] {
    let outbox = MirrorOutbox()
    let table = SeatTable(
        outboxes: [outbox], rules: .init(waitlistLimit: 0, limits: HolderLimits(limit: 0)))
    let providers = (0..<providerCount).map { number in
        table.providerCreatingIfNeeded("provider-\(number)", capacity: 1_000_000).provider
    }
    for write in 0..<1_000 {
        _ = providers[write % providerCount].book(
            "holder:\(123_000 + write)", wait: false, rules: table.rules,
            mirrorUp: true, ticket: nil)
    }
    var writes: [MirrorWrite] = []
    outbox.drain(into: &writes)
    precondition(writes.count == 1_000)
    return writes
}

private final class EncoderRig {
    let writes: [MirrorWrite]
    var encoder = MirrorBatchEncoder(keys: KeyLayout(prefix: "kezek"))
    init(providers: Int) {
        writes = bookWrites(providers: providers)
        // Buffers at their working size, as on a running connection.
        encoder.encode(writes[...], epoch: 1)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 10,
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )

    for providers in [1, 100] {
        Benchmark("Encode 1,000 BOOK writes, \(providers) provider(s)") { _, rig in
            rig.encoder.encode(rig.writes[...], epoch: 1)
            blackHole(rig.encoder.bytes.count)
        } setup: {
            EncoderRig(providers: providers)
        }
    }
}
