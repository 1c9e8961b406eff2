/// The hash tag of a shard's own keys (its lease, its providers set): the first of `s0`,
/// `s1`, … whose hash slot is the shard's identity slot, so those keys live on the shard's
/// master and every daemon finds the same tag. Some 16,000 CRC16s of two to six bytes on
/// average (no string is made until the tag is found).
enum ShardTag {
    static func forSlot(_ slot: Int) -> String {
        precondition((0..<HashSlot.count).contains(slot), "slot out of range")
        var digits: [UInt8] = [UInt8(ascii: "0")]  // the number, least significant digit first
        var bytes: [UInt8] = []
        while true {
            bytes.removeAll(keepingCapacity: true)
            bytes.append(UInt8(ascii: "s"))
            bytes.append(contentsOf: digits.reversed())
            if Int(HashSlot.crc16(bytes)) % HashSlot.count == slot {
                return String(decoding: bytes, as: UTF8.self)
            }
            // Add one, in decimal.
            var index = 0
            while index < digits.count && digits[index] == UInt8(ascii: "9") {
                digits[index] = UInt8(ascii: "0")
                index += 1
            }
            if index == digits.count {
                digits.append(UInt8(ascii: "1"))
            } else {
                digits[index] += 1
            }
        }
    }
}
