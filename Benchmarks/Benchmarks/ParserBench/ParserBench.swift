// RequestParser on pipelined BOOKs, inline and RESP, read from a 64 KiB buffer the way a
// client connection hands them over: a view from the current request's first byte to the end
// of what arrived. One op = one request parsed; the parser walks the buffer and wraps around.
import Benchmark
import KezekCore

/// 64 KiB holding as many whole copies of `request` as fit (the tail is never read).
private func pipelinedBuffer(_ request: String) -> (bytes: UnsafeMutableRawBufferPointer, used: Int)
{
    let size = 64 * 1024
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
    buffer.initializeMemory(as: UInt8.self, repeating: 0)
    let one = Array(request.utf8)
    var used = 0
    while used + one.count <= size {
        for (offset, byte) in one.enumerated() { buffer[used + offset] = byte }
        used += one.count
    }
    return (buffer, used)
}

/// State kept across iterations: where the next request starts.
private final class ParseRig {
    let buffer: UnsafeMutableRawBufferPointer
    let used: Int
    var offset = 0
    var parser = RequestParser(maxRequestBytes: 4096)

    init(_ request: String) { (buffer, used) = pipelinedBuffer(request) }

    @inline(__always) func parseRequests(_ count: Int) {
        var tokens = 0
        var done = 0
        while done < count {
            if offset == used { offset = 0 }
            let view = UnsafeRawBufferPointer(rebasing: buffer[offset..<used])
            switch parser.parse(view) {
            case .complete(let length):
                tokens &+= parser.tokenCount &+ parser.tokenLengths[2]
                offset += length
                done += 1
            case .empty(let length):
                offset += length
            case .needMore, .failure:
                fatalError("unexpected parse outcome at offset \(offset)")
            }
        }
        blackHole(tokens)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )

    let inline = "BOOK provider-17 holder:123456\r\n"
    let resp = "*3\r\n$4\r\nBOOK\r\n$11\r\nprovider-17\r\n$13\r\nholder:123456\r\n"

    Benchmark("Parser inline BOOK (pipelined, 64 KiB)") { benchmark, rig in
        rig.parseRequests(benchmark.scaledIterations.count)
    } setup: {
        ParseRig(inline)
    }

    Benchmark("Parser RESP BOOK (pipelined, 64 KiB)") { benchmark, rig in
        rig.parseRequests(benchmark.scaledIterations.count)
    } setup: {
        ParseRig(resp)
    }
}
