import CKezekTLS

/// One connection's TLS session on memory BIOs (CKezekTLS): ciphertext read from the socket
/// goes in with `open`, replies go out through `seal`. It belongs to the connection's loop
/// thread, and moves with the connection when that moves.
final class TLSSession {
    private let session: OpaquePointer
    /// Keeps the context alive for log lines; OpenSSL holds its own reference too.
    private let context: TLSContext

    init?(_ context: TLSContext) {
        guard let session = kz_tls_new(context.pointer) else { return nil }
        self.session = session
        self.context = context
    }

    deinit { kz_tls_free(session) }

    enum Opened {
        case plaintext(Int)
        case needMore
        case closedByPeer
        case failed(String)
    }

    /// Hands `ciphertext` to OpenSSL; call `decrypt` until it says `needMore`.
    func feed(_ ciphertext: UnsafeRawBufferPointer) -> Bool {
        kz_tls_feed(session, ciphertext.baseAddress, ciphertext.count) == 0
    }

    /// Decrypts what was fed into `buffer` (the handshake runs on the way).
    func decrypt(into buffer: UnsafeMutableRawPointer, size: Int) -> Opened {
        let count = kz_tls_read(session, buffer, size)
        switch count {
        case 1...: return .plaintext(count)
        case 0: return .needMore
        case -1: return .closedByPeer
        default: return .failed(String(cString: kz_tls_error(session)))
        }
    }

    /// Replaces the plaintext in `bytes` by its ciphertext, with whatever else OpenSSL has to
    /// send (handshake records, alerts; with `closing`, close_notify after the last reply).
    /// Before the handshake completed, plaintext is dropped: the peer could not read it.
    /// False on an error.
    func seal(_ bytes: inout [UInt8], closing: Bool) -> Bool {
        if !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { kz_tls_write(session, $0.baseAddress, $0.count) }
            guard written >= 0 else { return false }
            bytes.removeAll(keepingCapacity: true)
        }
        if closing { kz_tls_shutdown(session) }
        let pending = kz_tls_pending(session)
        guard pending > 0 else { return true }
        bytes.reserveCapacity(pending)
        bytes.append(contentsOf: repeatElement(0, count: pending))
        let taken = bytes.withUnsafeMutableBytes { kz_tls_take(session, $0.baseAddress, pending) }
        bytes.removeLast(pending - taken)
        return true
    }

    /// Ciphertext waiting to be sent.
    var hasPendingOutput: Bool { kz_tls_pending(session) > 0 }

    var version: String { String(cString: kz_tls_version(session)) }
}
