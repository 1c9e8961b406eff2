import KezekDraw

/// One ACL user, in the Redis ACL's shape: `user NAME on|off >password #sha256 nopass
/// +@category -@category +command -command`. Passwords are kept as SHA-256 digests only.
public struct User: Sendable, Equatable {
    public let name: String
    public var enabled = false
    public var noPassword = false
    /// SHA-256 digests of the passwords this user may authenticate with.
    public var passwordDigests: [[UInt8]] = []
    /// Connection commands are every user's; rules add and remove the rest.
    public var rights = Rights.category(.connection)

    public init(name: String) { self.name = name }

    /// Longest password a rule or AUTH may carry.
    public static let maxPasswordBytes = 512

    /// Applies one rule (a word of a `user` line); throws the reason it is not one.
    public mutating func apply(rule: String) throws(RuleError) {
        switch rule.lowercased() {
        case "on": enabled = true
        case "off": enabled = false
        case "nopass":
            noPassword = true
            passwordDigests = []
        case "resetpass":
            noPassword = false
            passwordDigests = []
        case "allcommands", "+@all": rights = .all
        case "nocommands", "-@all": rights = .category(.connection)
        // Kezek has no key space nor channels: the patterns that allow everything are accepted.
        case "~*", "allkeys", "resetkeys", "&*", "allchannels", "resetchannels", "%rw~*": break
        case "reset":
            self = User(name: name)
        default:
            try applyPatterned(rule)
        }
    }

    private mutating func applyPatterned(_ rule: String) throws(RuleError) {
        guard let first = rule.first else { throw RuleError("empty rule") }
        let rest = String(rule.dropFirst())
        switch first {
        case ">", "<":
            guard !rest.isEmpty, rest.utf8.count <= Self.maxPasswordBytes else {
                throw RuleError("a password is 1 to \(Self.maxPasswordBytes) bytes")
            }
            let digest = SHA256().digest(rest)
            passwordDigests.removeAll { $0 == digest }
            if first == ">" {
                passwordDigests.append(digest)
                noPassword = false
            }
        case "#", "!":
            guard let digest = Self.digest(hex: rest) else {
                throw RuleError("'\(first)' takes 64 hex digits (a SHA-256)")
            }
            passwordDigests.removeAll { $0 == digest }
            if first == "#" {
                passwordDigests.append(digest)
                noPassword = false
            }
        case "+", "-":
            let granted = try Self.rights(named: rest.lowercased())
            if first == "+" { rights.formUnion(granted) } else { rights.subtract(granted) }
            // Connection commands cannot be taken away: without them no client connects.
            rights.formUnion(.category(.connection))
        case "~", "%", "&":
            throw RuleError(
                "key and channel patterns other than ~* and &* are not supported: Kezek has no key space"
            )
        default:
            throw RuleError("unknown rule '\(rule)'")
        }
    }

    /// `@category`, or a command name (`book`, `client`, `client|list`: a bare verb names
    /// all of its groups).
    private static func rights(named name: String) throws(RuleError) -> Rights {
        if name.hasPrefix("@") {
            guard let category = CommandCategory(rawValue: String(name.dropFirst())) else {
                throw RuleError(
                    "unknown category '\(name)' (gateway, monitor, admin, connection, all)")
            }
            return .category(category)
        }
        let matched = CommandRight.allCases.filter {
            $0.name == name || $0.name.hasPrefix(name + "|")
        }
        guard !matched.isEmpty else { throw RuleError("unknown command '\(name)'") }
        return Rights(matched.map(Rights.init))
    }

    /// Whether `password` lets this user in (false when the user is off).
    func accepts(password: UnsafeRawBufferPointer) -> Bool {
        guard enabled else { return false }
        if noPassword { return true }
        let digest = SHA256()
        var out = [UInt8](repeating: 0, count: 32)
        digest.start()
        digest.update(password)
        out.withUnsafeMutableBytes { digest.finish(into: $0.baseAddress!) }
        // Compares every stored digest in full, so timing tells nothing of a near match.
        var matched = false
        for stored in passwordDigests {
            var difference: UInt8 = 0
            for index in 0..<32 { difference |= stored[index] ^ out[index] }
            matched = matched || difference == 0
        }
        return matched
    }

    /// The user as ACL LIST shows it (passwords as their digests).
    public var aclLine: String {
        var words = ["user", name, enabled ? "on" : "off"]
        if noPassword { words.append("nopass") }
        words += passwordDigests.map { "#" + Self.hex($0) }
        words += ["~*", "&*"]
        var remaining = rights.subtracting(.category(.connection))
        if remaining == Rights.all.subtracting(.category(.connection)) {
            words.append("+@all")
        } else {
            words.append("-@all")
            for category in [CommandCategory.gateway, .monitor, .admin]
            where remaining.isSuperset(of: .category(category)) {
                words.append("+@" + category.rawValue)
                remaining.subtract(.category(category))
            }
            words += CommandRight.allCases.filter { remaining.contains($0) }.map { "+" + $0.name }
        }
        return words.joined(separator: " ")
    }

    public struct RuleError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    static func digest(hex: String) -> [UInt8]? {
        let digits = Array(hex.lowercased().utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 48...57: digit - 48
        case 97...102: digit - 87
        default: nil
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
