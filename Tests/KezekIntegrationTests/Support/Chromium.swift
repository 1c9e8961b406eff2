import Foundation

/// Debian's headless Chromium, which the test set-up installs (scripts/ensure-chromium.sh).
enum Chromium {
    static var path: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The DOM after Chromium loaded and rendered `url` (`--dump-dom`).
    static func renderedDOM(_ url: String) throws -> String {
        guard let path else { throw TestSetupError("no chromium: run scripts/ensure-chromium.sh (make test does)") }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("kezek-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let result = try runProgram(path, ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                           "--user-data-dir=\(profile.path)", "--dump-dom", url], timeout: 90)
        guard result.status == 0, result.stdout.contains("</html>") else {
            throw TestSetupError("chromium --dump-dom \(url) ended \(String(describing: result.status)): \(result.stderr.suffix(800))")
        }
        return result.stdout
    }
}

/// A program built next to kezekd (kezek-audit, kezek-bench): `<NAME>_BIN`, else next to
/// the test bundle's executable, like `KezekdProcess.binaryPath`.
func builtProgram(_ name: String) -> String {
    let variable = name.uppercased().replacingOccurrences(of: "-", with: "_") + "_BIN"
    if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty { return path }
    return URL(fileURLWithPath: KezekdProcess.binaryPath).deletingLastPathComponent().appendingPathComponent(name).path
}
