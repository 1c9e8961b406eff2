import CLibCrypto

/// SHA-256 from OpenSSL's libcrypto, as the contract asks for a kept implementation rather
/// than a home-made one. A hasher keeps one digest context and the fetched algorithm, so that
/// hashing a million holders does not allocate a context each (OpenSSL 3's one-shot
/// EVP_Digest does). One hasher per thread: it is not Sendable.
public final class SHA256 {
    private let context: OpaquePointer
    private let algorithm: OpaquePointer

    public init() {
        // Both fail only without memory or without the default provider: nothing to recover.
        guard let context = EVP_MD_CTX_new(), let algorithm = EVP_MD_fetch(nil, "SHA256", nil)
        else {
            preconditionFailure("libcrypto has no SHA-256")
        }
        (self.context, self.algorithm) = (context, algorithm)
    }

    deinit {
        EVP_MD_CTX_free(context)
        EVP_MD_free(algorithm)
    }

    /// Starts a digest; `update` feeds it, `finish` writes the 32 bytes.
    public func start() {
        let started = EVP_DigestInit_ex2(context, algorithm, nil) == 1
        precondition(started, "libcrypto SHA-256 failed")
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        let updated = EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1
        precondition(updated, "libcrypto SHA-256 failed")
    }

    public func finish(into out: UnsafeMutableRawPointer) {
        var length: UInt32 = 0
        let ok = EVP_DigestFinal_ex(context, out.assumingMemoryBound(to: UInt8.self), &length)
        let complete = ok == 1 && length == 32
        precondition(complete, "libcrypto SHA-256 failed")
    }

    /// The digest of `text`'s UTF-8 bytes.
    public func digest(_ text: String) -> [UInt8] {
        var text = text
        var out = [UInt8](repeating: 0, count: 32)
        start()
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
        out.withUnsafeMutableBytes { finish(into: $0.baseAddress!) }
        return out
    }

    /// Lower-case hex of the digest of `text`: the form of a round's seed commitment.
    public static func hex(_ text: String) -> String { Hex.encode(SHA256().digest(text)) }
}

enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, byte) in bytes.enumerated() {
                out[2 * i] = digits[Int(byte >> 4)]
                out[2 * i + 1] = digits[Int(byte & 0x0f)]
            }
            return bytes.count * 2
        }
    }
}
