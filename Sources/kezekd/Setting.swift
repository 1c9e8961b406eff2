import Foundation
import KezekCore
import Logging

/// One setting of kezekd, declared once: its key (the YAML key; the flag is `--key`, the
/// environment variable `KEZEK_KEY`), the default the docs show, what it means, and how a
/// value is checked and stored. `Setting.all` lists them; the command line, the environment,
/// the config file, `--help`, docs/SETTINGS.md and the start-up log line all come from it.
struct Setting: Sendable {
    let key: String
    /// The default as docs/SETTINGS.md shows it.
    let defaultText: String
    let help: String
    /// Masked in the start-up log line.
    let isSecret: Bool
    /// Checks `source` and stores it; throws a `ConfigurationError` naming the source.
    let apply: @Sendable (inout Configuration, Source) throws -> Void
    /// The effective value, for the start-up log line.
    let current: @Sendable (Configuration) -> String

    var flag: String { "--" + key }
    var environmentName: String { Self.environmentName(key) }

    static func environmentName(_ key: String) -> String {
        "KEZEK_" + key.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// A raw value and where it came from (`--listen`, `KEZEK_LISTEN`, `key 'listen' in FILE`).
    struct Source {
        let value: String
        let origin: String
    }
}

// MARK: Kinds of setting

extension Setting {
    typealias Field<Value> = WritableKeyPath<ServerSettings, Value> & Sendable

    static func endpoint(
        _ key: String, _ field: Field<ServerSettings.Endpoint>, default defaultText: String,
        _ help: String
    ) -> Setting {
        Setting(
            key: key, defaultText: defaultText, help: help, isSecret: false,
            apply: { configuration, source in
                configuration.settings[keyPath: field] = try parseEndpoint(source)
            },
            current: { "\($0.settings[keyPath: field])" })
    }

    static func integer(
        _ key: String, _ field: Field<Int>, _ range: ClosedRange<Int>, default defaultText: String,
        _ help: String
    ) -> Setting {
        Setting(
            key: key, defaultText: defaultText,
            help: "\(help) (\(range.lowerBound) to \(range.upperBound))", isSecret: false,
            apply: { configuration, source in
                configuration.settings[keyPath: field] = try parseInteger(source, range)
            },
            current: { "\($0.settings[keyPath: field])" })
    }

    static func seconds(
        _ key: String, _ field: Field<Double>, _ range: ClosedRange<Double>,
        default defaultText: String, _ help: String
    ) -> Setting {
        Setting(
            key: key, defaultText: defaultText,
            help: "\(help) (\(range.lowerBound.formatted) to \(range.upperBound.formatted))",
            isSecret: false,
            apply: { configuration, source in
                configuration.settings[keyPath: field] = try parseSeconds(source, range)
            },
            current: { "\($0.settings[keyPath: field])" })
    }

    /// A token: 1 to 512 bytes without white space; empty means none.
    static func secret(_ key: String, _ field: Field<String?>, _ help: String) -> Setting {
        Setting(
            key: key, defaultText: "none", help: help, isSecret: true,
            apply: { configuration, source in
                configuration.settings[keyPath: field] = try parseSecret(source)
            },
            current: { $0.settings[keyPath: field] == nil ? "none" : "***" })
    }

    /// `yes` or `no` (default no).
    static func flag(_ key: String, _ field: Field<Bool>, _ help: String) -> Setting {
        Setting(
            key: key, defaultText: "no", help: help, isSecret: false,
            apply: { configuration, source in
                switch source.value.lowercased() {
                case "yes", "true": configuration.settings[keyPath: field] = true
                case "no", "false": configuration.settings[keyPath: field] = false
                default: throw ConfigurationError(source, "expected yes or no")
                }
            },
            current: { $0.settings[keyPath: field] ? "yes" : "no" })
    }

    /// A setting with its own check.
    static func custom(
        _ key: String, default defaultText: String, _ help: String,
        apply: @escaping @Sendable (inout Configuration, Source) throws -> Void,
        current: @escaping @Sendable (Configuration) -> String
    ) -> Setting {
        Setting(
            key: key, defaultText: defaultText, help: help, isSecret: false, apply: apply,
            current: current)
    }
}

// MARK: Value parsers

extension Setting {
    static func parseEndpoint(_ source: Source, allowingPortZero: Bool = false) throws
        -> ServerSettings.Endpoint
    {
        let text = source.value
        var host: Substring
        var port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                text[text.index(after: close)...].hasPrefix(":")
            else {
                throw ConfigurationError(source, "expected HOST:PORT or [IPV6]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ConfigurationError(source, "expected HOST:PORT")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard let number = Int(port), ((allowingPortZero ? 0 : 1)...65535).contains(number) else {
            throw ConfigurationError(
                source, "expected a port from \(allowingPortZero ? 0 : 1) to 65535")
        }
        guard isIPAddress(String(host)) else {
            throw ConfigurationError(source, "expected an IP address (or localhost) as host")
        }
        return ServerSettings.Endpoint(host: String(host), port: number)
    }

    /// `HOST:PORT,HOST:PORT,...` (1 to 16); empty or `none`: no addresses.
    static func parseEndpointList(_ source: Source) throws -> [ServerSettings.Endpoint] {
        guard !source.value.isEmpty, source.value != "none" else { return [] }
        let parts = source.value.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count <= 16, !parts.contains(where: \.isEmpty) else {
            throw ConfigurationError(
                source, "expected 1 to 16 HOST:PORT addresses separated by commas")
        }
        return try parts.map { try parseEndpoint(Source(value: $0, origin: source.origin)) }
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static func parseInteger(_ source: Source, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(source.value.trimmingCharacters(in: .whitespaces)),
            range.contains(value)
        else {
            throw ConfigurationError(
                source, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func parseSeconds(_ source: Source, _ range: ClosedRange<Double>) throws -> Double {
        guard let value = Double(source.value.trimmingCharacters(in: .whitespaces)), value.isFinite,
            range.contains(value)
        else {
            throw ConfigurationError(
                source, "expected seconds from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func parseSecret(_ source: Source) throws -> String? {
        guard !source.value.isEmpty else { return nil }
        guard source.value.utf8.count <= 512, !source.value.contains(where: { $0.isWhitespace })
        else {
            throw ConfigurationError(source, "expected 1 to 512 bytes without spaces")
        }
        return source.value
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ source: Setting.Source, _ problem: String) {
        description = "invalid value '\(source.value)' for \(source.origin): \(problem)"
    }
}

private extension Double {
    /// 2.0 as "2", 0.01 as "0.01".
    var formatted: String { self == rounded() ? String(Int(self)) : String(self) }
}
