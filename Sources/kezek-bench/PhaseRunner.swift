// Runs one phase: splits connections and requests over `threads` workers (one libuv loop and
// thread each), opens every connection first, starts all workers at once through a gate,
// draws progress while they run, and merges what they counted.
import Foundation

/// Lets the coordinator start every worker at the same instant once all have connected.
final class StartGate: @unchecked Sendable {
    private let cond = NSCondition()
    private var arrived = 0
    private var open = false

    func arriveAndWait() {
        cond.lock()
        arrived += 1
        cond.broadcast()
        while !open { cond.wait() }
        cond.unlock()
    }

    func waitForArrivals(_ n: Int) {
        cond.lock()
        while arrived < n { cond.wait() }
        cond.unlock()
    }

    func release() {
        cond.lock()
        open = true
        cond.broadcast()
        cond.unlock()
    }
}

/// Workers are handed from the coordinator to their thread and back.
private final class WorkerBox: @unchecked Sendable {
    let worker: LoopWorker
    init(_ w: LoopWorker) { worker = w }
}

enum PhaseRunner {
    static func run(_ plan: PhasePlan, env: LoadEnvironment) -> PhaseOutcome {
        let poolSize = plan.batch.count
        let threads = max(1, min(env.threads, env.connections, max(1, poolSize)))
        let progress = ProgressCounter()
        var workers: [LoopWorker] = []
        for t in 0..<threads {
            let ids = Array(stride(from: t, to: env.connections, by: threads))
            let pool = (poolSize * t / threads)..<(poolSize * (t + 1) / threads)
            let requests: Int
            if plan.total == Int.max {
                requests = Int.max
            } else {
                requests = plan.total * (t + 1) / threads - plan.total * t / threads
            }
            workers.append(
                LoopWorker(
                    plan: plan, env: env, connectionIDs: ids, pool: pool,
                    requests: poolSize == 0 ? 0 : requests, progress: progress,
                    threads: threads, workerIndex: t))
        }

        let gate = StartGate()
        let done = DispatchSemaphore(value: 0)
        for w in workers {
            let box = WorkerBox(w)
            let thread = Thread {
                box.worker.run(gate: gate)
                done.signal()
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
        gate.waitForArrivals(threads)
        let started = Date()
        gate.release()

        var finished = 0
        let total: Int? = plan.total == Int.max ? nil : plan.total
        while finished < threads {
            if done.wait(timeout: .now() + .milliseconds(200)) == .success {
                finished += 1
                continue
            }
            env.progress.draw(
                phase: plan.name, done: progress.current, total: total,
                elapsed: Date().timeIntervalSince(started), duration: plan.duration)
        }
        env.progress.clear()

        let merged = PhaseStats()
        var opened = 0
        for w in workers {
            merged.merge(w.stats)
            opened += w.opened
        }
        return PhaseOutcome(
            name: plan.name, stats: merged, connectionsOpened: opened,
            connectionsWanted: env.connections)
    }
}
