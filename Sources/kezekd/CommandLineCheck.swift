/// The command line's shape, checked before any value is read: every `--flag` is a setting
/// of `Setting.all` (or `--config`, `--help`, `--settings-doc`) with exactly one value.
/// swift-configuration's command-line provider reads the values; it accepts anything, so
/// a misspelt flag would otherwise be ignored without a word.
struct CommandLineCheck {
    enum Action { case run, help, settingsDoc }

    private(set) var action = Action.run
    private(set) var configPath: String?

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `arguments[0]` is the program name.
    init(arguments: [String]) throws {
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "--help", "-h":
                action = .help
                continue
            case "--settings-doc":
                action = .settingsDoc
                continue
            default:
                break
            }
            guard argument.hasPrefix("--") else {
                throw Failure(description: "unexpected argument '\(argument)'")
            }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard name == "config" || Setting.byKey[name] != nil else {
                throw Failure(description: "unknown option '--\(name)' (kezekd --help lists them)")
            }
            if value == nil {
                guard index < arguments.count, !arguments[index].hasPrefix("--") else {
                    throw Failure(description: "missing value for '--\(name)'")
                }
                value = arguments[index]
                index += 1
            }
            if name == "config" { configPath = value }
        }
    }

    static var helpText: String {
        var lines = [
            "kezekd: the Kezek seat-reservation daemon.",
            "",
            "usage: kezekd [--config FILE] [--SETTING VALUE ...]",
            "",
            "Every setting is also an environment variable (KEZEK_SETTING) and a key of the YAML",
            "file; a flag beats the environment, which beats the file, which beats the default.",
            "",
            "  --config FILE  YAML config file, flat `key: value` (also KEZEK_CONFIG)",
        ]
        let width = Setting.all.map(\.key.count).max() ?? 0
        for setting in Setting.all {
            let padding = String(repeating: " ", count: width - setting.key.count)
            lines.append(
                "  --\(setting.key)\(padding)  \(setting.help) (default \(setting.defaultText))")
        }
        lines.append("  --settings-doc  print the settings table of docs/SETTINGS.md")
        return lines.joined(separator: "\n")
    }

    /// The table of docs/SETTINGS.md, generated from `Setting.all` (`make settings-doc`).
    static var settingsTable: String {
        var lines = [
            "| key (file) | flag | environment | default | meaning |",
            "|---|---|---|---|---|",
        ]
        for setting in Setting.all {
            lines.append(
                "| \(setting.key) | \(setting.flag) | \(setting.environmentName) | \(setting.defaultText) | \(setting.help) |"
            )
        }
        return lines.joined(separator: "\n")
    }
}
