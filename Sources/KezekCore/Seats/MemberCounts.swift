import CKezekShims

/// A counting filter of a provider's members (holders with a seat and holders waiting): each
/// member adds one to two one-byte counters picked by its hash. `mightContain` is false only
/// for a holder that is surely not a member; it reads relaxed atomics and takes no lock, so
/// sold-out BOOKs can ask it (`SoldOutGate`). Changes are made under the provider's lock only,
/// one writer at a time, so a plain load and store per counter is enough.
///
/// A counter that reaches 255 stays there (it no longer knows how many members share it); that
/// only turns more answers into "maybe". One allocation: the mask, then the counters; it is
/// never moved, and the provider frees it only when it is itself freed, so a reader holding an
/// old address always reads valid memory.
///
/// Layout of the one allocation: the mask (counters - 1), the hash seed, then the counters.
struct MemberCounts {
    private let block: UnsafeMutableRawPointer

    /// A filter with `counters` counters (a power of two), all zero.
    init(counters: Int) {
        let powerOfTwo = counters > 0 && counters & (counters - 1) == 0
        precondition(powerOfTwo, "counters must be a power of two")
        block = UnsafeMutableRawPointer.allocate(
            byteCount: Self.headerBytes + counters, alignment: MemoryLayout<Int>.alignment)
        block.storeBytes(of: counters - 1, as: Int.self)
        block.storeBytes(
            of: UInt64.random(in: 0...UInt64.max), toByteOffset: MemoryLayout<Int>.stride,
            as: UInt64.self)
        (block + Self.headerBytes).initializeMemory(as: UInt8.self, repeating: 0, count: counters)
    }

    /// The filter at an address from `address` (see `SoldOutGate`).
    init(address: UInt) {
        block = UnsafeMutableRawPointer(bitPattern: address)!
    }

    var address: UInt { UInt(bitPattern: block) }
    var counters: Int { mask + 1 }
    private var mask: Int { block.load(as: Int.self) }
    private var bytes: UnsafeMutablePointer<UInt8> {
        (block + Self.headerBytes).assumingMemoryBound(to: UInt8.self)
    }
    private static var headerBytes: Int { MemoryLayout<Int>.stride + MemoryLayout<UInt64>.stride }

    /// The two counters of a holder: the halves of a hash of its bytes, seeded per table so
    /// that ids cannot be chosen to pile onto a counter. (A weak hash could only cost speed:
    /// the filter never reports a member absent, whatever the collisions.) Cheaper than
    /// Swift's SipHash, which this path would otherwise spend most of its time in.
    @inline(__always)
    private func slots(_ holder: String) -> (Int, Int) {
        var hash = block.load(fromByteOffset: MemoryLayout<Int>.stride, as: UInt64.self)
        var bytes = holder
        bytes.withUTF8 { utf8 in
            var index = 0
            while index + 8 <= utf8.count {
                let word = UnsafeRawPointer(utf8.baseAddress! + index).loadUnaligned(
                    as: UInt64.self)
                hash = (hash ^ word) &* 0x9E37_79B9_7F4A_7C15
                hash ^= hash >> 29
                index += 8
            }
            var tail = UInt64(utf8.count) << 56
            var shift: UInt64 = 0
            while index < utf8.count {
                tail |= UInt64(utf8[index]) << shift
                shift += 8
                index += 1
            }
            hash = (hash ^ tail) &* 0xBF58_476D_1CE4_E5B9
        }
        hash ^= hash >> 31
        hash = hash &* 0x94D0_49BB_1331_11EB
        hash ^= hash >> 32
        let mask = self.mask
        return (Int(truncatingIfNeeded: hash) & mask, Int(truncatingIfNeeded: hash >> 32) & mask)
    }

    func insert(_ holder: String) {
        let (first, second) = slots(holder)
        increment(first)
        increment(second)
    }

    func remove(_ holder: String) {
        let (first, second) = slots(holder)
        decrement(first)
        decrement(second)
    }

    @inline(__always)
    func mightContain(_ holder: String) -> Bool {
        let (first, second) = slots(holder)
        return kz_byte_load_relaxed(bytes + first) != 0 && kz_byte_load_relaxed(bytes + second) != 0
    }

    private func increment(_ slot: Int) {
        let count = kz_byte_load_relaxed(bytes + slot)
        if count < UInt8.max { kz_byte_store_relaxed(bytes + slot, count + 1) }
    }

    private func decrement(_ slot: Int) {
        let count = kz_byte_load_relaxed(bytes + slot)
        if count > 0 && count < UInt8.max { kz_byte_store_relaxed(bytes + slot, count - 1) }
    }

    func deallocate() {
        block.deallocate()
    }
}
