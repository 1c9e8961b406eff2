import CKezekTLS
import Synchronization

/// The client port's TLS setup (`tls-cert-file`, `tls-key-file`, `tls-ca-cert-file`,
/// `tls-auth-clients`, `tls-protocols`) made into an OpenSSL server context. SIGHUP makes a
/// new one from the files; connections already open keep the one they started with
/// (OpenSSL counts its references).
final class TLSContext: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer

    init(_ settings: ServerSettings.TLS) throws(TLSSetupError) {
        var error = [UInt8](repeating: 0, count: 320)
        let verify: Int32 =
            switch settings.authClients {
            case .no: Int32(KZ_TLS_VERIFY_NO.rawValue)
            case .optional: Int32(KZ_TLS_VERIFY_OPTIONAL.rawValue)
            case .yes: Int32(KZ_TLS_VERIFY_REQUIRED.rawValue)
            }
        var protocols: Int32 = 0
        if settings.protocols.contains(.tls12) { protocols |= Int32(KZ_TLS_V1_2.rawValue) }
        if settings.protocols.contains(.tls13) { protocols |= Int32(KZ_TLS_V1_3.rawValue) }
        guard
            let context = kz_tls_context_new(
                settings.certFile, settings.keyFile, settings.caCertFile, verify, protocols,
                &error, error.count)
        else {
            throw TLSSetupError(
                description: String(decoding: error.prefix { $0 != 0 }, as: UTF8.self))
        }
        pointer = context
    }

    deinit { kz_tls_context_free(pointer) }
}

struct TLSSetupError: Error, CustomStringConvertible {
    let description: String
}

/// The context new TLS connections start with; `reload` swaps it (any thread).
final class TLSContextHolder: Sendable {
    private let current: Mutex<TLSContext>
    let settings: ServerSettings.TLS

    init(_ settings: ServerSettings.TLS) throws(TLSSetupError) {
        self.settings = settings
        current = Mutex(try TLSContext(settings))
    }

    var context: TLSContext { current.withLock { $0 } }

    /// Reads the certificate, key and CA files again; on an error the old context stays.
    func reload() throws(TLSSetupError) {
        let fresh = try TLSContext(settings)
        current.withLock { $0 = fresh }
    }
}
