/// A holder's lottery number in a round: SHA-256 of the bytes `<seed>:<holder>`, read as a
/// 256-bit big-endian unsigned number. Smaller is better. Anyone who knows the published seed
/// can compute their own: `printf '%s:%s' "$SEED" "$HOLDER" | sha256sum`.
public struct LotteryNumber: Comparable, Hashable, Sendable, CustomStringConvertible {
    // The digest as four big-endian words, most significant first, so that comparing the
    // words in order compares the 256-bit numbers.
    public let high: UInt64
    public let upper: UInt64
    public let lower: UInt64
    public let low: UInt64

    public init(seed: String, holder: String, using hasher: SHA256 = SHA256()) {
        var seed = seed, holder = holder
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        hasher.start()
        seed.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
        withUnsafeBytes(of: UInt8(ascii: ":")) { hasher.update($0) }
        holder.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
        withUnsafeMutableBytes(of: &digest) { hasher.finish(into: $0.baseAddress!) }
        // The digest's bytes are big-endian words.
        self.init(
            high: UInt64(bigEndian: digest.0), upper: UInt64(bigEndian: digest.1),
            lower: UInt64(bigEndian: digest.2), low: UInt64(bigEndian: digest.3))
    }

    public init(high: UInt64, upper: UInt64, lower: UInt64, low: UInt64) {
        (self.high, self.upper, self.lower, self.low) = (high, upper, lower, low)
    }

    public static func < (a: LotteryNumber, b: LotteryNumber) -> Bool {
        (a.high, a.upper, a.lower, a.low) < (b.high, b.upper, b.lower, b.low)
    }

    /// 64 lower-case hex digits, as draw.csv publishes it.
    public var hex: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for w in [high, upper, lower, low] {
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: w >> UInt64(shift)))
            }
        }
        return Hex.encode(bytes)
    }

    public var description: String { hex }
}
