import ArgumentParser
import Foundation
import KezekCore
import Logging

/// kezekd: parse the settings, serve, load state, and drain on SIGTERM/SIGINT.

let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    if Options.exitCode(for: error) == .success {
        print(Options.helpMessage())
        exit(0)
    }
    FileHandle.standardError.write(Data("kezekd: \(Options.message(for: error).split(separator: "\n").first ?? "bad arguments")\n".utf8))
    exit(2)
}

let configuration: Configuration
let catalog: [CatalogEntry]
do {
    configuration = try Configuration.resolve(options: options, environment: ProcessInfo.processInfo.environment)
    let settings = configuration.settings
    catalog = try settings.catalog.map { try Catalog.load(path: $0, maxCapacity: settings.maxCapacity, maxBytes: settings.maxCatalogBytes) } ?? []
} catch {
    FileHandle.standardError.write(Data("kezekd: \(error)\n".utf8))
    exit(2)
}

let level = configuration.logLevel
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = level
    return handler
}
let log = Logger(label: "kezekd")
log.info("starting", metadata: configuration.summary)

// Signals are taken by one thread with sigwait; every other thread has them blocked.
signal(SIGPIPE, SIG_IGN)
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGTERM)
sigaddset(&stopSignals, SIGINT)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

let server = KezekServer(settings: configuration.settings, log: log)
do {
    try server.start()
    try AdminHTTPServer.start(server: server, log: log)
} catch {
    FileHandle.standardError.write(Data("kezekd: \(error)\n".utf8))
    exit(2)
}
log.info("listening", metadata: ["listen": "\(configuration.settings.listen)", "admin_listen": "\(configuration.settings.adminListen)"])

let signalThread = Thread {
    var received: Int32 = 0
    sigwait(&stopSignals, &received)
    log.info("signal received", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
    server.shutdown()
}
signalThread.start()

server.recover(catalog: catalog)
let status = server.wait()
log.info("stopped", metadata: ["status": "\(status)"])
exit(status)
