/// The unit of memory that cores pass between them: 64 bytes on the x86-64 and arm64 machines
/// Kezek runs on. Two things that different threads write go on different lines, or every
/// write of one makes the other's core fetch the line again.
enum CacheLine {
    static let bytes = 64

    /// A field one line long, to keep the fields before and after it on different lines.
    typealias Pad = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    static let pad: Pad = (0, 0, 0, 0, 0, 0, 0, 0)

    /// `size` bytes rounded up to whole lines.
    static func whole(_ size: Int) -> Int { (size + bytes - 1) / bytes * bytes }
}
