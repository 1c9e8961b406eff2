/// Provider and holder ids: 1 to `maxLength` bytes of `A-Z a-z 0-9 _ . : @ -`, case-sensitive.
public enum Identifier {
    public static let maxLength = 64

    /// A byte ids may hold. A switch, not a lookup table: a table is a lazy global, and its
    /// initialisation check on every byte was 4% of a cold start at 100x the city.
    @inline(__always)
    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 1 && bytes.count <= maxLength else { return false }
        for byte in bytes where !isAllowed(byte) { return false }
        return true
    }

    public static func isValid(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { isValid(UnsafeRawBufferPointer($0)) }
    }
}
