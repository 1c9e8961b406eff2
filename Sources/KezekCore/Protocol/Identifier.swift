/// Provider and holder ids: 1 to `maxLength` bytes of `A-Z a-z 0-9 _ . : @ -`, case-sensitive.
public enum Identifier {
    public static let maxLength = 64

    private static let allowed: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        for char in "_.:@-".utf8 { table[Int(char)] = true }
        return table
    }()

    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 1 && bytes.count <= maxLength else { return false }
        for byte in bytes where !allowed[Int(byte)] { return false }
        return true
    }

    public static func isValid(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { isValid(UnsafeRawBufferPointer($0)) }
    }
}
