import Glibc

/// SIGTERM and SIGINT start the drain. They are blocked in every thread (the caller blocks
/// them before any thread starts) and taken by one thread with sigwait, so no handler runs
/// in the middle of a loop.
extension KezekServer {
    /// Blocks SIGTERM and SIGINT in the calling thread (and the threads it starts later).
    public static func blockStopSignals() {
        var signals = stopSignals
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Starts the thread that waits for SIGTERM or SIGINT and then calls `shutdown()`.
    public func shutdownOnStopSignals() {
        let thread = NativeThread.start {
            var signals = KezekServer.stopSignals
            var received: Int32 = 0
            sigwait(&signals, &received)
            self.log.info("signal received", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
            self.shutdown()
        }
        pthread_detach(thread)
    }

    private static var stopSignals: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        return signals
    }
}
