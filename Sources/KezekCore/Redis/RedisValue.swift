import CHiredis

/// A Redis reply as a Swift value.
enum RedisValue {
    case string(String)
    case integer(Int)
    case array([RedisValue])
    case null
    case error(String)

    init(_ reply: UnsafeMutablePointer<redisReply>) {
        switch reply.pointee.type {
        case REDIS_REPLY_STRING, REDIS_REPLY_STATUS:
            self = .string(
                String(
                    decoding: UnsafeRawBufferPointer(
                        start: reply.pointee.str, count: Int(reply.pointee.len)), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(reply.pointee.integer))
        case REDIS_REPLY_ARRAY:
            let count = Int(reply.pointee.elements)
            var values: [RedisValue] = []
            values.reserveCapacity(count)
            for index in 0..<count {
                if let element = reply.pointee.element[index] {
                    values.append(RedisValue(element))
                } else {
                    values.append(.null)
                }
            }
            self = .array(values)
        case REDIS_REPLY_ERROR:
            self = .error(reply.pointee.str.map { String(cString: $0) } ?? "error")
        default:
            self = .null
        }
    }

    /// A short description for log lines.
    var summary: String {
        switch self {
        case .string(let text): String(text.prefix(64))
        case .integer(let value): String(value)
        case .array(let values): "array of \(values.count)"
        case .null: "nil"
        case .error(let text): String(text.prefix(64))
        }
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var strings: [String] {
        guard case .array(let values) = self else { return [] }
        return values.compactMap(\.string)
    }

    /// An array's elements (none for anything else, nil included).
    var items: [RedisValue] {
        guard case .array(let values) = self else { return [] }
        return values
    }
}
