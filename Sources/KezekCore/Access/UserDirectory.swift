import Foundation

/// Every ACL user of the daemon. The two tokens are users too: `token` is the `default`
/// user's password and `admin-token` the `admin` user's; an `acl-file` adds users (or
/// redefines these), one `user NAME rule…` line each, as Redis's aclfile.
///
/// Without any token the `default` user is `on nopass +@all`, as in Redis: connections start
/// authenticated. With only `token`, it is `+@all`; with both, `default` is a gateway and a
/// monitor but not an operator (no CLIENT LIST: one client must not see another's connections).
public struct UserDirectory: Sendable {
    public private(set) var users: [String: User] = [:]

    public init(token: String?, adminToken: String?) {
        var standard = User(name: "default")
        let rules: [String]
        switch (token, adminToken) {
        case (nil, nil): rules = ["on", "nopass", "+@all"]
        case (let token?, nil): rules = ["on", ">" + token, "+@all"]
        case (let token?, _?):
            rules = ["on", ">" + token, "+@gateway", "+@monitor", "-client|list"]
        case (nil, _?): rules = ["off"]
        }
        for rule in rules { try? standard.apply(rule: rule) }
        users["default"] = standard
        if let adminToken {
            var admin = User(name: "admin")
            for rule in ["on", ">" + adminToken, "+@all"] { try? admin.apply(rule: rule) }
            users["admin"] = admin
        }
    }

    /// The token users, then the users of the acl-file at `path` (when given).
    public static func load(token: String?, adminToken: String?, aclFile path: String?)
        throws(LoadError) -> UserDirectory
    {
        var directory = UserDirectory(token: token, adminToken: adminToken)
        guard let path else { return directory }
        guard let data = FileManager.default.contents(atPath: path), data.count <= maxFileBytes,
            let text = String(data: data, encoding: .utf8)
        else {
            throw LoadError(
                "acl-file \(path): cannot read it as UTF-8 text of at most \(maxFileBytes) bytes")
        }
        try directory.add(lines: text, origin: "acl-file \(path)")
        return directory
    }

    /// Adds the `user …` lines of `text` (blank lines and `#` comments skipped).
    public mutating func add(lines text: String, origin: String) throws(LoadError) {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(
                String.init)
            guard let first = words.first, !first.hasPrefix("#") else { continue }
            let at = "\(origin) line \(index + 1)"
            guard first == "user", words.count >= 2 else {
                throw LoadError("\(at): expected `user NAME rule…`")
            }
            let name = words[1]
            guard name.utf8.count <= 128, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw LoadError("\(at): a user name is 1 to 128 printable characters")
            }
            guard users.count < Self.maxUsers || users[name] != nil else {
                throw LoadError("\(at): more than \(Self.maxUsers) users")
            }
            var user = User(name: name)
            for rule in words.dropFirst(2) {
                do { try user.apply(rule: rule) } catch { throw LoadError("\(at): \(error)") }
            }
            users[name] = user
        }
    }

    public subscript(name: String) -> User? { users[name] }

    /// The user a new connection starts as: `default` when it needs no password.
    public var passwordless: User? {
        guard let standard = users["default"], standard.enabled, standard.noPassword else {
            return nil
        }
        return standard
    }

    /// Largest acl-file read, and most users it may define.
    public static let maxFileBytes = 1 << 20
    public static let maxUsers = 10_000

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
