import CHiredis
import CKezekShims
import Glibc

/// A blocking hiredis connection, used only before the loops serve data: to load the state at
/// start and to write what settling it needs.
final class RedisSyncConnection {
    private let context: UnsafeMutablePointer<redisContext>
    /// The buffers `flatReplyOrError` reads into, kept from one reply to the next.
    private var flat = kz_flat_reply()

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Seconds to connect; a Redis that does not answer by then is retried with backoff.
    static let connectTimeoutSeconds = 5
    /// Seconds one reply may take while loading (a large SMEMBERS is read in one reply).
    static let replyTimeoutSeconds = 30

    /// Connects and, with a password, authenticates (`AUTH [user] password`).
    /// `replyTimeoutMillis` bounds each reply (the lease keeper uses a short one).
    init(
        endpoint: ServerSettings.Endpoint, user: String? = nil, password: String? = nil,
        connectTimeoutMillis: Int = RedisSyncConnection.connectTimeoutSeconds * 1000,
        replyTimeoutMillis: Int = RedisSyncConnection.replyTimeoutSeconds * 1000
    ) throws {
        let timeout = timeval(
            tv_sec: connectTimeoutMillis / 1000, tv_usec: Int((connectTimeoutMillis % 1000) * 1000))
        guard let context = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port), timeout)
        else {
            throw Failure(description: "cannot allocate a redis context")
        }
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            redisFree(context)
            throw Failure(description: message)
        }
        redisSetTimeout(
            context,
            timeval(tv_sec: replyTimeoutMillis / 1000, tv_usec: (replyTimeoutMillis % 1000) * 1000))
        self.context = context
        if let password {
            append(["AUTH"] + (user.map { [$0] } ?? []) + [password])
            if case .error(let text) = try replyOrError() {
                throw CredentialsRefused(authReply: text)
            }
        }
    }

    deinit {
        kz_flat_reply_free(&flat)
        redisFree(context)
    }

    /// Queues a command (pipelined); `reply()` reads the replies in order.
    func append(_ arguments: [String]) {
        let command = RESP.command(arguments)
        command.withUnsafeBufferPointer { bytes in
            _ = redisAppendFormattedCommand(
                context, UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self),
                bytes.count)
        }
    }

    /// Sends already encoded commands (pipelined).
    func append(encoded bytes: [UInt8], ends: [Int]) {
        var start = 0
        bytes.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            for end in ends {
                _ = redisAppendFormattedCommand(context, base + start, end - start)
                start = end
            }
        }
    }

    /// Writes what `append` queued now (else the first `reply` does): pipelines to several
    /// servers then travel at once. Throws when the connection fails.
    func flush() throws {
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else {
                throw Failure(description: Self.errorText(context))
            }
        }
    }

    /// The next reply, converted; throws on a connection error or an error reply
    /// (`CredentialsRefused` for `-NOAUTH`).
    func reply() throws -> RedisValue {
        let value = try replyOrError()
        if case .error(let text) = value {
            throw CredentialsRefused(replyTo: text) ?? Failure(description: text)
        }
        return value
    }

    /// The next reply, an error reply included (for pipelines where one key's error, such as
    /// WRONGTYPE, must not lose the replies after it); throws on a connection error only.
    func replyOrError() throws -> RedisValue {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw Failure(description: Self.errorText(context))
        }
        defer { freeReplyObject(raw) }
        return RedisValue(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// The next reply as a `FlatReply`: a set's, sorted set's or hash's elements go straight
    /// from the socket's bytes into strings (kz_flat_reply_read), with no hiredis reply object
    /// or RedisValue for each: most of a load's time at 100x the city.
    func flatReplyOrError() throws -> FlatReply {
        guard kz_flat_reply_read(context, &flat) == REDIS_OK else {
            throw Failure(description: Self.errorText(context))
        }
        let strings = flatStrings()
        switch flat.type {
        case REDIS_REPLY_ARRAY:
            // An element that is not a string (nested, an integer, nil) is not kept: the
            // caller sees an array with a nil in it and says the data is bad.
            return flat.nested == 0
                ? .strings(strings) : .other(.array(strings.map(RedisValue.string) + [.null]))
        case REDIS_REPLY_STRING, REDIS_REPLY_STATUS: return .other(.string(strings.first ?? ""))
        case REDIS_REPLY_ERROR: return .other(.error(strings.first ?? "error"))
        case REDIS_REPLY_INTEGER: return .other(.integer(Int(flat.integer)))
        default: return .other(.null)
        }
    }

    /// The strings `flat` holds, in order.
    private func flatStrings() -> [String] {
        // No byte read yet (only empty strings so far): nothing was allocated.
        guard let bytes = flat.bytes else { return Array(repeating: "", count: flat.count) }
        var strings: [String] = []
        strings.reserveCapacity(flat.count)
        var start = 0
        for index in 0..<flat.count {
            let end = flat.ends[index]
            strings.append(
                String(
                    decoding: UnsafeRawBufferPointer(start: bytes + start, count: end - start),
                    as: UTF8.self))
            start = end
        }
        return strings
    }

    func command(_ arguments: [String]) throws -> RedisValue {
        append(arguments)
        return try reply()
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
