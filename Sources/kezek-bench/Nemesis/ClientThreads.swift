// The run's load on any topology: each gateway client on a thread of its own until the
// deadline, while the nemesis plays its faults on the calling thread.
import Foundation

enum ClientThreads {
    /// Starts every client, calls `play` (the fault schedule), then waits for the clients and
    /// any work already entered into `done` (the rounds' admin).
    static func run(
        _ clients: [GatewayClient], until deadline: Double, done: DispatchGroup = DispatchGroup(),
        play: () -> Void
    ) {
        for client in clients {
            done.enter()
            Thread.detachNewThread {
                client.run(until: deadline)
                done.leave()
            }
        }
        play()
        done.wait()
    }
}
