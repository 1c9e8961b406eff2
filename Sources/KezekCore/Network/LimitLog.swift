import Logging

/// Logs limits being hit (max clients, protocol errors, backpressure, idle closes) at most once
/// per `interval` per kind and thread, with how many times it happened since the last line, so a
/// flood of bad clients cannot flood the log.
struct LimitLog {
    enum Kind: Int, CaseIterable {
        case maxClients, idleShed, protocolError, backpressure, idleTimeout, requestTimeout,
            authFailure, tlsFailure

        var message: Logger.Message {
            switch self {
            case .maxClients: "max-clients reached: connection refused"
            case .idleShed: "max-clients reached: the longest idle client closed to admit a new one"
            case .protocolError: "malformed request: connection closed"
            case .backpressure:
                "client not reading its replies: reads paused (max-pending-replies / max-output-bytes)"
            case .idleTimeout: "idle client closed (idle-timeout)"
            case .requestTimeout:
                "request not completed in time: connection closed (request-timeout)"
            case .authFailure: "failed AUTH"
            case .tlsFailure: "TLS handshake failed or bad TLS record: connection closed"
            }
        }
    }

    static let intervalNanos: UInt64 = 10_000_000_000
    private var lastLogged = [UInt64](repeating: 0, count: Kind.allCases.count)
    private var suppressed = [Int](repeating: 0, count: Kind.allCases.count)

    mutating func note(_ kind: Kind, now: UInt64, log: Logger, detail: String = "") {
        let index = kind.rawValue
        suppressed[index] += 1
        guard lastLogged[index] == 0 || now &- lastLogged[index] >= Self.intervalNanos else {
            return
        }
        var metadata: Logger.Metadata = ["times": "\(suppressed[index])"]
        if !detail.isEmpty { metadata["detail"] = "\(detail)" }
        log.warning(kind.message, metadata: metadata)
        lastLogged[index] = now
        suppressed[index] = 0
    }
}
