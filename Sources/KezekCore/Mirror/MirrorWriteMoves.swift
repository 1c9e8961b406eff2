/// Moving writes from one array to another without copying them. A copy of a write retains
/// every string it holds, and the original's release follows, often on another thread: at a
/// draw of 10x the city (1.7 million writes, each passed on three or four times) the copies
/// were a fifth of kezekd's CPU.
extension Array where Element == MirrorWrite {
    /// Moves `source[range]` to the end of this array. The places it leaves in `source` hold
    /// blank writes (a barrier with no ticket: nothing to release), for the caller to drop.
    mutating func moveAppend(from source: inout [MirrorWrite], _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        let blank = MirrorWrite(
            provider: source[range.lowerBound].provider, op: .barrier, ticket: nil, madeAt: 0)
        let start = count
        append(contentsOf: repeatElement(blank, count: range.count))
        withUnsafeMutableBufferPointer { target in
            source.withUnsafeMutableBufferPointer { from in
                for offset in 0..<range.count {
                    swap(&target[start + offset], &from[range.lowerBound + offset])
                }
            }
        }
    }

    /// Moves `write` to the end of this array, leaving a blank write in its place. (A `var`
    /// passed by value is copied and then destroyed: Swift does not move a write this large.)
    mutating func moveAppend(_ write: inout MirrorWrite) {
        append(MirrorWrite(provider: write.provider, op: .barrier, ticket: nil, madeAt: 0))
        swap(&self[count - 1], &write)
    }
}
