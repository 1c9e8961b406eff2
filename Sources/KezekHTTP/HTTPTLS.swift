import KezekCore
import NIOSSL

/// TLS for the admin and public HTTP listeners (`admin-tls`, `public-tls`) through swift-nio-ssl,
/// Hummingbird's own TLS: the same certificate and key as the client port (`tls-cert-file`,
/// `tls-key-file`), read once at start. The admin listener asks for client certificates as
/// `tls-auth-clients` says; the public pages never do.
enum HTTPTLS {
    static func configuration(_ tls: ServerSettings.TLS, clientCertificates: Bool) throws
        -> TLSConfiguration
    {
        guard !tls.certFile.isEmpty, !tls.keyFile.isEmpty else {
            throw KezekServer.StartFailure(
                description: "admin-tls and public-tls need tls-cert-file and tls-key-file")
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certFile)
        } catch {
            throw KezekServer.StartFailure(description: "tls-cert-file \(tls.certFile): \(error)")
        }
        do {
            // Read as PEM whatever the file's extension (swift-nio-ssl takes `.key` for DER).
            key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
        } catch {
            throw KezekServer.StartFailure(description: "tls-key-file \(tls.keyFile): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key))
        configuration.minimumTLSVersion = tls.protocols.contains(.tls12) ? .tlsv12 : .tlsv13
        configuration.maximumTLSVersion = tls.protocols.contains(.tls13) ? .tlsv13 : .tlsv12
        if clientCertificates, tls.authClients != .no {
            guard let ca = tls.caCertFile else {
                throw KezekServer.StartFailure(
                    description:
                        "admin-tls with tls-auth-clients \(tls.authClients.rawValue) needs tls-ca-cert-file"
                )
            }
            configuration.trustRoots = .file(ca)
            configuration.certificateVerification =
                tls.authClients == .yes ? .noHostnameVerification : .optionalVerification
        }
        return configuration
    }
}
