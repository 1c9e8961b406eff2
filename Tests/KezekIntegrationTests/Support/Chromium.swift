import Foundation
import KezekTestSupport

/// Debian's headless Chromium, which the test set-up installs (scripts/ensure-chromium.sh).
enum Chromium {
    static var path: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// The DOM after Chromium loaded and rendered `url` (`--dump-dom`).
    static func renderedDOM(_ url: String) throws -> String {
        guard let path else {
            throw TestSetupError("no chromium: run scripts/ensure-chromium.sh (make test does)")
        }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kezek-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let result = try runProgram(
            path,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--user-data-dir=\(profile.path)", "--dump-dom", url,
            ], timeout: 90)
        guard result.status == 0, result.stdout.contains("</html>") else {
            throw TestSetupError(
                "chromium --dump-dom \(url) ended \(String(describing: result.status)): \(result.stderr.suffix(800))"
            )
        }
        return result.stdout
    }
}

/// A program of the package (kezek-audit, kezek-bench): `<NAME>_BIN` (`make test` sets
/// KEZEK_AUDIT_BIN to the release build), else the build next to the test bundle's executable.
func builtProgram(_ name: String) -> String {
    let variable = name.uppercased().replacingOccurrences(of: "-", with: "_") + "_BIN"
    if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty { return path }
    let executable =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(name)
        .path
}
