/// Redis Cluster's hash slot of a key: CRC16 (XMODEM: polynomial 0x1021, initial 0) of the
/// key, or of its hash tag (the bytes between the first `{` and the next `}`, when not
/// empty), modulo 16384. A provider's Redis keys are tagged `{provider}`, so the provider id
/// as a key has the same slot as every key that stores it: a cluster-aware client that routes
/// `BOOK <provider> …` by its provider argument reaches the node owning that provider's data.
enum HashSlot {
    static let count = 16384

    static func of<Bytes: Collection>(_ key: Bytes) -> Int where Bytes.Element == UInt8 {
        var hashed = key[...]
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let rest = key[key.index(after: open)...]
            if let close = rest.firstIndex(of: UInt8(ascii: "}")), close != rest.startIndex {
                hashed = rest[..<close]
            }
        }
        return Int(crc16(hashed)) % count
    }

    /// One table look-up per byte (on Redis Cluster every provider request is routed by it).
    static func crc16<Bytes: Sequence>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// The CRC of each byte value on its own, shifted through all 8 bits.
    private static let table: [UInt16] = (0..<256).map { value in
        var crc = UInt16(value) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
