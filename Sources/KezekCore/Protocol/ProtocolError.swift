/// Malformed input. Each of these is answered with one error line, after which the
/// connection is closed (the stream can no longer be framed reliably).
public enum ProtocolError: Error, Equatable, Sendable {
    case lineTooLong
    case requestTooLarge
    case invalidMultibulkLength
    case invalidBulkLength
    case expectedBulk(got: UInt8)
    case missingCRLF

    public var message: String {
        switch self {
        case .lineTooLong: "ERR line too long"
        case .requestTooLarge: "ERR Protocol error: request too large"
        case .invalidMultibulkLength: "ERR Protocol error: invalid multibulk length"
        case .invalidBulkLength: "ERR Protocol error: invalid bulk length"
        case .expectedBulk(let got):
            "ERR Protocol error: expected '$', got '\(Self.printable(got))'"
        case .missingCRLF: "ERR Protocol error: expected CRLF after bulk string"
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x21...0x7e).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
