/// Redis refused this daemon's credentials: none were given where Redis needs some
/// (`-NOAUTH`), or the ones given were refused (`-WRONGPASS`, `-ERR invalid password`, or a
/// password sent to a Redis that has none). At start that is a bad setting (exit status 2);
/// while running (a password rotated under the daemon) writes fail closed and the
/// connections retry (`CredentialsBackoff`).
struct CredentialsRefused: Error, CustomStringConvertible {
    enum Reason { case missing, refused }
    let reason: Reason
    /// Redis's own error line.
    let redisError: String

    /// The refusal an error reply to a command other than AUTH means, if any.
    init?(replyTo redisError: String) {
        guard redisError.hasPrefix("NOAUTH") else { return nil }
        reason = .missing
        self.redisError = redisError
    }

    /// Any error reply to AUTH is a refusal of the credentials sent.
    init(authReply redisError: String) {
        reason = .refused
        self.redisError = redisError
    }

    var description: String {
        switch reason {
        case .missing:
            "this Redis requires a password: set redis-password (and redis-user for an ACL user) (redis: \(redisError))"
        case .refused:
            "redis refused the credentials: check redis-password (and redis-user) (redis: \(redisError))"
        }
    }
}
