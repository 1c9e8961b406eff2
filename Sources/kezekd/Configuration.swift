import Configuration
import Foundation
import KezekCore
import Logging
import Yams

/// Resolves every setting of `Setting.all` from swift-configuration providers in precedence
/// order: command line flag, then `KEZEK_*` environment variable, then the YAML config file,
/// then the default. The first provider that has a key wins and is named in its errors.
struct Configuration {
    var settings = ServerSettings()
    var logLevel = Logger.Level.info

    static func resolve(arguments: [String], environment: [String: String]) throws -> Configuration
    {
        let commandLine = try CommandLineCheck(arguments: arguments)
        let configPath = commandLine.configPath ?? environment["KEZEK_CONFIG"]
        var sources: [SettingSource] = [
            .flags(CommandLineArgumentsProvider(arguments: arguments)),
            .environment(EnvironmentVariablesProvider(environmentVariables: environment)),
        ]
        if let configPath { sources.append(try .file(path: configPath)) }

        var configuration = Configuration()
        configuration.settings.threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        for setting in Setting.all {
            guard let source = try sources.lazy.compactMap({ try $0.lookup(setting) }).first else {
                continue
            }
            try setting.apply(&configuration, source)
        }
        return configuration
    }

    /// The settings for the start-up log line, secrets masked.
    var summary: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for setting in Setting.all {
            metadata[setting.key.replacingOccurrences(of: "-", with: "_")] =
                "\(setting.current(self))"
        }
        return metadata
    }
}

/// One layer of configuration: a swift-configuration provider and how its keys are named.
enum SettingSource {
    case flags(CommandLineArgumentsProvider)
    case environment(EnvironmentVariablesProvider)
    /// The file's snapshot; none for a file that holds no keys (swift-configuration wants a mapping).
    case file(YAMLSnapshot?, nullKeys: Set<String>, path: String)

    /// The raw value of `setting` in this layer, or nil when this layer does not set it.
    func lookup(_ setting: Setting) throws -> Setting.Source? {
        switch self {
        case .flags(let provider):
            // The provider splits a value at commas; the pieces are put back together.
            guard
                case .stringArray(let parts)? = try provider.value(
                    forKey: [setting.key], type: .stringArray
                ).value?.content
            else {
                return nil
            }
            return Setting.Source(value: parts.joined(separator: ","), origin: setting.flag)
        case .environment(let provider):
            // ["kezek", "max-clients"] is encoded as KEZEK_MAX_CLIENTS.
            guard
                case .string(let value)? = try provider.value(
                    forKey: ["kezek", setting.key], type: .string
                ).value?.content
            else {
                return nil
            }
            return Setting.Source(value: value, origin: setting.environmentName)
        case .file(let snapshot, let nullKeys, let path):
            guard let snapshot, !nullKeys.contains(setting.key),
                case .string(let value)? = try snapshot.value(forKey: [setting.key], type: .string)
                    .value?.content
            else {
                return nil
            }
            return Setting.Source(value: value, origin: "key '\(setting.key)' in \(path)")
        }
    }

    /// The YAML file at `path`: flat `key: value` lines, every key one of `Setting.all`
    /// (a key set to null counts as absent).
    static func file(path: String) throws -> SettingSource {
        let origin = Setting.Source(value: path, origin: "--config")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(origin, "cannot read the file")
        }
        let parsed: Any?
        do {
            parsed = try Yams.load(yaml: text)
        } catch {
            throw ConfigurationError(
                origin,
                "not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let parsed else { return .file(nil, nullKeys: [], path: path) }
        guard let mapping = parsed as? [String: Any] else {
            throw ConfigurationError(origin, "expected `key: value` lines")
        }
        var nullKeys = Set<String>()
        for (key, value) in mapping {
            let keySource = Setting.Source(value: key, origin: "key '\(key)' in \(path)")
            guard Setting.byKey[key] != nil else {
                throw ConfigurationError(keySource, "unknown setting")
            }
            if value is NSNull {
                nullKeys.insert(key)
            } else if value is [Any] || value is [String: Any] {
                throw ConfigurationError(keySource, "expected a single value")
            }
        }
        if nullKeys.count == mapping.count { return .file(nil, nullKeys: nullKeys, path: path) }
        do {
            let bytes = Array(text.utf8)
            let snapshot = try YAMLSnapshot(
                data: bytes.span.bytes, providerName: path, parsingOptions: .default)
            return .file(snapshot, nullKeys: nullKeys, path: path)
        } catch {
            throw ConfigurationError(
                origin,
                "not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
    }
}
