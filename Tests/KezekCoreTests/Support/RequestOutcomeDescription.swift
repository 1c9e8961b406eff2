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
