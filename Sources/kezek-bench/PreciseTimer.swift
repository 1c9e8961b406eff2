// Periodic wake-ups with microsecond precision, for the open-loop schedule. uv_timer_t has
// millisecond resolution, which would add about 0.5 ms of sender lateness to every open-loop
// latency; a periodic Linux timerfd watched by a uv_poll_t does not, and costs one read per
// wake-up (re-arming it per request costs far more: timerfd_settime is slow under a VM).
// timerfd is looked up with dlsym (Swift's Glibc module does not export it); where it is
// missing, `make` returns nil and the worker falls back to its millisecond tick.
import CLibUV
#if canImport(Glibc)
    import Glibc
#endif

final class PreciseTimer {
    #if canImport(Glibc)
        private typealias Create = @convention(c) (Int32, Int32) -> Int32
        private typealias SetTime =
            @convention(c) (
                Int32, Int32, UnsafePointer<itimerspec>,
                UnsafeMutablePointer<itimerspec>?
            ) -> Int32
        private static let functions: (Create, SetTime)? = {
            guard let h = dlopen(nil, RTLD_NOW), let c = dlsym(h, "timerfd_create"),
                let s = dlsym(h, "timerfd_settime")
            else { return nil }
            return (unsafeBitCast(c, to: Create.self), unsafeBitCast(s, to: SetTime.self))
        }()
    #endif

    unowned let worker: LoopWorker
    private let fd: Int32
    private let poll: UnsafeMutablePointer<uv_poll_t>
    private var closed = false

    static func make(loop: UnsafeMutablePointer<uv_loop_t>, worker: LoopWorker) -> PreciseTimer? {
        #if canImport(Glibc)
            guard let (create, _) = functions else { return nil }
            let fd = create(CLOCK_MONOTONIC, Int32(O_NONBLOCK | O_CLOEXEC))
            guard fd >= 0 else { return nil }
            let t = PreciseTimer(worker: worker, fd: fd)
            guard uv_poll_init(loop, t.poll, fd) == 0 else {
                t.poll.deallocate()
                t.closed = true
                return nil
            }
            t.poll.pointee.data = UVRetain.retained(t)
            uv_poll_start(t.poll, Int32(UV_READABLE.rawValue)) { handle, _, _ in
                UVRetain.owner(handle!.pointee.data, as: PreciseTimer.self).fired()
            }
            return t
        #else
            return nil
        #endif
    }

    private init(worker: LoopWorker, fd: Int32) {
        self.worker = worker
        self.fd = fd
        poll = .allocate(capacity: 1)
    }

    deinit { _ = Glibc.close(fd) }

    /// Fire at `first` (uv_hrtime clock, CLOCK_MONOTONIC), then every `period` nanoseconds.
    func start(first: UInt64, period: UInt64) {
        #if canImport(Glibc)
            guard !closed, let (_, setTime) = Self.functions else { return }
            var spec = itimerspec()
            spec.it_value.tv_sec = Int(first / 1_000_000_000)
            spec.it_value.tv_nsec = Int(first % 1_000_000_000)
            spec.it_interval.tv_sec = Int(period / 1_000_000_000)
            spec.it_interval.tv_nsec = Int(period % 1_000_000_000)
            _ = setTime(fd, 1 /* TFD_TIMER_ABSTIME */, &spec, nil)
        #endif
    }

    private func fired() {
        var expirations: UInt64 = 0
        _ = read(fd, &expirations, 8)
        worker.scheduleDue()
    }

    func close() {
        guard !closed else { return }
        closed = true
        uv_poll_stop(poll)
        UVRetain.close(uvHandle(poll))
    }
}
