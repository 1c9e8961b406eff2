import Foundation
import KezekCore
import KezekHTTP
import Logging

/// kezekd: parse the settings, serve, load state, and drain on SIGTERM/SIGINT.

let arguments = CommandLine.arguments
let configuration: Configuration
let catalog: [CatalogEntry]
do {
    switch try CommandLineCheck(arguments: arguments).action {
    case .help:
        print(CommandLineCheck.helpText)
        exit(0)
    case .settingsDoc:
        print(CommandLineCheck.settingsTable)
        exit(0)
    case .run:
        break
    }
    configuration = try Configuration.resolve(
        arguments: arguments, environment: ProcessInfo.processInfo.environment)
    PlantedBug.active = try PlantedBug.from(environment: ProcessInfo.processInfo.environment)
    let settings = configuration.settings
    catalog =
        try settings.catalog.map {
            try Catalog.load(
                path: $0, maxCapacity: settings.maxCapacity, maxBytes: settings.maxCatalogBytes)
        } ?? []
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
if let bug = PlantedBug.active {
    log.critical("planted bug '\(bug.rawValue)' is active: this daemon breaks its contract")
}

// Signals are taken by one thread with sigwait; every other thread has them blocked.
signal(SIGPIPE, SIG_IGN)
KezekServer.blockStopSignals()

let server = KezekServer(settings: configuration.settings, log: log)
do {
    try server.start()
    try AdminHTTPServer.start(server: server, log: log)
    try PublicHTTPServer.start(server: server, log: log)
} catch {
    FileHandle.standardError.write(Data("kezekd: \(error)\n".utf8))
    exit(2)
}
log.info(
    "listening",
    metadata: [
        "listen": "\(configuration.settings.listen)",
        "admin_listen": "\(configuration.settings.adminListen)",
        "public_listen": "\(configuration.settings.publicListen)",
    ])

server.shutdownOnStopSignals()

do {
    try server.recover(catalog: catalog)
} catch {
    FileHandle.standardError.write(Data("kezekd: \(error)\n".utf8))
    exit(2)
}
let status = server.wait()
log.info("stopped", metadata: ["status": "\(status)"])
exit(status)
