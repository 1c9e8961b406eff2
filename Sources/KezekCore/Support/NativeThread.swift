import Glibc

/// A thread of its own (pthread), for work that must not wait on the loops or Swift's
/// cooperative pool: loops, the lease keeper, the cluster directory, the signal waiter.
enum NativeThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread; the closure (and what it captures) lives until it returns.
    static func start(_ body: @escaping () -> Void) -> pthread_t {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { argument in
                Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            }, box)
        guard status == 0 else { fatalError("pthread_create failed: \(status)") }
        return thread
    }
}
