import Glibc

/// SIGTERM and SIGINT start the drain; SIGHUP reloads the acl-file and the TLS certificates
/// (`reload()`). They are blocked in every thread (the caller blocks them before any thread
/// starts) and taken by one thread with sigwait, so no handler runs in the middle of a loop.
extension KezekServer {
    /// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the threads it starts later).
    public static func blockStopSignals() {
        var signals = stopSignals
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Starts the thread that waits for the signals: SIGHUP calls `reload()`, SIGTERM or
    /// SIGINT `shutdown()`.
    public func shutdownOnStopSignals() {
        let thread = NativeThread.start {
            var signals = KezekServer.stopSignals
            var received: Int32 = 0
            while sigwait(&signals, &received) == 0, received == SIGHUP {
                self.log.info("signal received", metadata: ["signal": "SIGHUP"])
                self.reload()
            }
            self.log.info(
                "signal received",
                metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
            self.shutdown()
        }
        pthread_detach(thread)
    }

    /// Reloads what SIGHUP reloads; on an error logs it and keeps what was loaded.
    public func reload() {
        do {
            try loadUsers()
            log.info("reloaded users", metadata: ["acl_file": "\(settings.aclFile ?? "none")"])
        } catch {
            log.error("reload failed: users kept as they were", metadata: ["error": "\(error)"])
        }
        guard let tls else { return }
        do {
            try tls.reload()
            log.info(
                "reloaded tls certificates", metadata: ["tls_cert_file": "\(settings.tls.certFile)"]
            )
        } catch {
            log.error("reload failed: tls kept as it was", metadata: ["error": "\(error)"])
        }
    }

    private static var stopSignals: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGHUP)
        return signals
    }
}
