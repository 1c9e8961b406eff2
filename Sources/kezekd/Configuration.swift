import Foundation
import KezekCore
import Logging
import Yams

/// Resolves every setting: flag, then `KEZEK_*` environment variable, then config file, then
/// default. A bad value is a `ConfigurationError` naming where it came from.
struct Configuration {
    var settings = ServerSettings()
    var logLevel = Logger.Level.info

    /// Every key, in the order of docs/SETTINGS.md.
    static let keys = [
        "listen", "redis", "threads", "token", "admin-token", "holder-limit", "admin-listen", "catalog", "max-catalog-bytes", "key-prefix", "lease-ttl", "node-id", "redis-user", "redis-password",
        "max-clients", "max-request-bytes", "max-unauthenticated-request-bytes", "max-pending-replies", "max-output-bytes", "max-total-output-bytes", "waitlist-limit", "max-capacity",
        "write-timeout", "redis-replicas", "drain-timeout", "idle-timeout", "request-timeout", "auth-max-failures", "auth-failure-delay", "admin-max-connections", "admin-request-timeout", "log-level",
    ]

    static func environmentName(_ key: String) -> String {
        "KEZEK_" + key.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// A value and where it came from, for error messages.
    struct Source {
        let value: String
        let origin: String
    }

    static func resolve(options: Options, environment: [String: String]) throws -> Configuration {
        let configPath = options.config ?? environment["KEZEK_CONFIG"]
        let file = try configPath.map { try readFile($0) } ?? [:]
        var configuration = Configuration()
        configuration.settings.threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let flags = options.flags
        for key in keys {
            let source: Source? =
                flags[key].map { Source(value: $0, origin: "--\(key)") }
                ?? environment[environmentName(key)].map { Source(value: $0, origin: environmentName(key)) }
                ?? file[key].map { Source(value: $0, origin: "key '\(key)' in \(configPath ?? "")") }
            guard let source else { continue }
            try configuration.apply(key, source)
        }
        return configuration
    }

    private mutating func apply(_ key: String, _ source: Source) throws {
        let value = source.value
        switch key {
        case "listen": settings.listen = try Self.endpoint(source)
        case "redis": settings.redis = try Self.endpoint(source)
        case "admin-listen": settings.adminListen = try Self.endpoint(source)
        case "threads": settings.threads = try Self.integer(source, 1...256)
        case "token": settings.token = try Self.secret(source)
        case "admin-token": settings.adminToken = try Self.secret(source)
        case "holder-limit": settings.holderLimit = try Self.integer(source, 0...1_000_000)
        case "catalog": settings.catalog = value.isEmpty ? nil : value
        case "lease-ttl": settings.leaseTTL = try Self.seconds(source, 0.5...3600)
        case "node-id":
            guard !value.isEmpty, value.count <= 128, !value.contains(where: { $0.isWhitespace }) else {
                throw ConfigurationError(source, "expected 1 to 128 characters without spaces")
            }
            settings.nodeID = value
        case "redis-user": settings.redisUser = try Self.secret(source)
        case "redis-password": settings.redisPassword = try Self.secret(source)
        case "max-catalog-bytes": settings.maxCatalogBytes = try Self.integer(source, 1024...1_073_741_824)
        case "key-prefix":
            guard !value.isEmpty, value.count <= 64, !value.contains(where: { $0.isWhitespace || $0 == "{" || $0 == "}" }) else {
                throw ConfigurationError(source, "expected 1 to 64 characters without spaces or braces")
            }
            settings.keyPrefix = value
        case "max-clients": settings.maxClients = try Self.integer(source, 1...1_000_000)
        case "max-request-bytes": settings.maxRequestBytes = try Self.integer(source, 64...1_048_576)
        case "max-unauthenticated-request-bytes": settings.unauthenticatedMaxRequestBytes = try Self.integer(source, 16...1_048_576)
        case "max-pending-replies": settings.maxPendingReplies = try Self.integer(source, 1...1_000_000)
        case "max-output-bytes": settings.maxOutputBytes = try Self.integer(source, 1024...1_073_741_824)
        case "max-total-output-bytes": settings.maxTotalOutputBytes = try Self.integer(source, 65536...68_719_476_736)
        case "waitlist-limit": settings.waitlistLimit = try Self.integer(source, 0...10_000_000)
        case "max-capacity": settings.maxCapacity = try Self.integer(source, 1...1_000_000_000)
        case "write-timeout": settings.writeTimeout = try Self.seconds(source, 0.01...3600)
        case "redis-replicas": settings.redisReplicas = try Self.integer(source, 0...64)
        case "drain-timeout": settings.drainTimeout = try Self.seconds(source, 0...3600)
        case "idle-timeout": settings.idleTimeout = try Self.seconds(source, 0...86400)
        case "request-timeout": settings.requestTimeout = try Self.seconds(source, 0...3600)
        case "auth-max-failures": settings.authMaxFailures = try Self.integer(source, 1...1_000_000)
        case "auth-failure-delay": settings.authFailureDelay = try Self.seconds(source, 0...60)
        case "admin-max-connections": settings.adminMaxConnections = try Self.integer(source, 1...10_000)
        case "admin-request-timeout": settings.adminRequestTimeout = try Self.seconds(source, 0.1...3600)
        case "log-level":
            guard let level = Logger.Level(rawValue: value.lowercased()) else {
                throw ConfigurationError(source, "expected trace, debug, info, notice, warning, error or critical")
            }
            logLevel = level
        default:
            throw ConfigurationError(source, "unknown setting")
        }
    }

    /// The settings for the start-up log line, tokens masked.
    var summary: Logger.Metadata {
        [
            "listen": "\(settings.listen)", "redis": "\(settings.redis)", "admin_listen": "\(settings.adminListen)",
            "threads": "\(settings.threads)", "token": "\(settings.token == nil ? "none" : "***")",
            "admin_token": "\(settings.adminToken == nil ? "none" : "***")", "holder_limit": "\(settings.holderLimit)",
            "catalog": "\(settings.catalog ?? "none")", "max_catalog_bytes": "\(settings.maxCatalogBytes)", "key_prefix": "\(settings.keyPrefix)", "lease_ttl": "\(settings.leaseTTL)", "node_id": "\(settings.nodeID)",
            "redis_user": "\(settings.redisUser ?? "none")", "redis_password": "\(settings.redisPassword == nil ? "none" : "***")",
            "max_clients": "\(settings.maxClients)", "max_request_bytes": "\(settings.maxRequestBytes)",
            "max_unauthenticated_request_bytes": "\(settings.unauthenticatedMaxRequestBytes)",
            "max_pending_replies": "\(settings.maxPendingReplies)", "max_output_bytes": "\(settings.maxOutputBytes)",
            "max_total_output_bytes": "\(settings.maxTotalOutputBytes)",
            "waitlist_limit": "\(settings.waitlistLimit)", "max_capacity": "\(settings.maxCapacity)",
            "write_timeout": "\(settings.writeTimeout)", "redis_replicas": "\(settings.redisReplicas)", "drain_timeout": "\(settings.drainTimeout)",
            "idle_timeout": "\(settings.idleTimeout)", "request_timeout": "\(settings.requestTimeout)",
            "auth_max_failures": "\(settings.authMaxFailures)", "auth_failure_delay": "\(settings.authFailureDelay)",
            "admin_max_connections": "\(settings.adminMaxConnections)",
            "admin_request_timeout": "\(settings.adminRequestTimeout)", "log_level": "\(logLevel)",
        ]
    }

    // MARK: Value parsers

    static func endpoint(_ source: Source) throws -> ServerSettings.Endpoint {
        let text = source.value
        var host: Substring
        var port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ConfigurationError(source, "expected HOST:PORT or [IPV6]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ConfigurationError(source, "expected HOST:PORT") }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard let number = Int(port), (1...65535).contains(number) else {
            throw ConfigurationError(source, "expected a port from 1 to 65535")
        }
        guard isIPAddress(String(host)) else { throw ConfigurationError(source, "expected an IP address (or localhost) as host") }
        return ServerSettings.Endpoint(host: String(host), port: number)
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static func integer(_ source: Source, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(source.value.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw ConfigurationError(source, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func seconds(_ source: Source, _ range: ClosedRange<Double>) throws -> Double {
        guard let value = Double(source.value.trimmingCharacters(in: .whitespaces)), value.isFinite, range.contains(value) else {
            throw ConfigurationError(source, "expected seconds from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func secret(_ source: Source) throws -> String? {
        guard !source.value.isEmpty else { return nil }
        guard source.value.utf8.count <= 512, !source.value.contains(where: { $0.isWhitespace }) else {
            throw ConfigurationError(source, "expected 1 to 512 bytes without spaces")
        }
        return source.value
    }

    /// Reads the flat YAML file into strings by key; unknown keys are an error.
    static func readFile(_ path: String) throws -> [String: String] {
        let origin = Source(value: path, origin: "--config")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(origin, "cannot read the file")
        }
        let parsed: Any?
        do {
            parsed = try Yams.load(yaml: text)
        } catch {
            throw ConfigurationError(origin, "not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let parsed else { return [:] }
        guard let mapping = parsed as? [String: Any] else { throw ConfigurationError(origin, "expected `key: value` lines") }
        var values: [String: String] = [:]
        for (key, value) in mapping {
            guard keys.contains(key) else {
                throw ConfigurationError(Source(value: key, origin: "key '\(key)' in \(path)"), "unknown setting")
            }
            if value is NSNull { continue }
            values[key] = "\(value)"
        }
        return values
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ source: Configuration.Source, _ problem: String) {
        description = "invalid value '\(source.value)' for \(source.origin): \(problem)"
    }
}
