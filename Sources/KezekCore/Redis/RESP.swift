/// Writes Redis commands in RESP (arrays of bulk strings), for the mirror's batches and for
/// the blocking connection used at start.
enum RESP {
    static func appendHeader(count: Int, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "*"))
        Reply.appendDecimal(count, into: &bytes)
        bytes.append(13)
        bytes.append(10)
    }

    static func appendBulk(_ text: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "$"))
        Reply.appendDecimal(text.utf8.count, into: &bytes)
        bytes.append(13)
        bytes.append(10)
        bytes.append(contentsOf: text.utf8)
        bytes.append(13)
        bytes.append(10)
    }

    /// One bulk string on its own (a constant part of a command, encoded once).
    static func bulk(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        appendBulk(text, into: &bytes)
        return bytes
    }

    static func appendCommand(_ arguments: [String], into bytes: inout [UInt8]) {
        appendHeader(count: arguments.count, into: &bytes)
        for argument in arguments { appendBulk(argument, into: &bytes) }
    }

    static func command(_ arguments: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        appendCommand(arguments, into: &bytes)
        return bytes
    }
}
