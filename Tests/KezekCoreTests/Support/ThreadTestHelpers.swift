import Foundation
@testable import KezekCore

/// An outcome as text: "now <reply>" or "afterMirror <reply>", the reply as sent.
func describe(_ outcome: RequestOutcome) -> String {
    func text(_ reply: Reply) -> String {
        var bytes: [UInt8] = []
        reply.encode(into: &bytes)
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
    }
    switch outcome {
    case .now(let reply): return "now " + text(reply)
    case .afterMirror(let reply): return "afterMirror " + text(reply)
    }
}

/// A value shared by test threads behind a lock.
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&value) } }
}

extension Shared where Value == Int {
    func add(_ amount: Int) { lock.withLock { value += amount } }
}

/// Runs `body(lane)` on `count` real threads at once and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for lane in 0..<count {
        group.enter()
        Thread.detachNewThread {
            body(lane)
            group.leave()
        }
    }
    group.wait()
}
