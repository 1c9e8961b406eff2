// `kezek-audit replay` after a run, on any topology: an anomaly for each difference between
// the audit log and what the daemons serve.
import Foundation
import KezekNemesis

enum AuditReplay {
    /// Runs `binary replay <arguments>`; its output is also kept at `logPath` when given.
    static func anomalies(binary: String, arguments: [String], logPath: String? = nil)
        -> [Anomaly]
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["replay"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            return [
                Anomaly(
                    kind: .auditReplayDiffers, subject: "kezek-audit",
                    detail: "cannot run \(binary): \(error)")
            ]
        }
        let output = String(
            decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if let logPath { try? output.write(toFile: logPath, atomically: true, encoding: .utf8) }
        guard process.terminationStatus != 0 else { return [] }
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("difference") }.prefix(20)
        return [
            Anomaly(
                kind: .auditReplayDiffers, subject: "audit log",
                detail: lines.isEmpty ? output : lines.joined(separator: "\n      "))
        ]
    }
}
