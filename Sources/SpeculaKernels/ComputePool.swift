#if arch(x86_64)
internal import CX86
#endif
internal import Foundation
internal import Synchronization

/// The engine's compute threads: the caller plus `threads − 1` persistent workers that run one
/// part each of every job (`run(_:)`), the way ggml's thread pool does.
///
/// Why not `DispatchQueue.concurrentPerform`: a decode step is ~200 matrix products of a few
/// milliseconds or less, and waking pool threads for each one cost a quarter of the step on this
/// machine. Workers here spin on a generation counter for a short while after each job (the next
/// product follows within microseconds), then keep watching it while yielding the core to any
/// other runnable thread (a draft model in the same process, more threads than cores), and only
/// then sleep on a condition variable.
///
/// Jobs from different callers are serialized; a job's parts must be independent.
package final class ComputePool: Sendable {
    /// Threads taking part in a job, the caller included.
    package let threads: Int
    private let state: SharedState
    private let submission = Mutex(())

    package init(threads: Int) {
        self.threads = max(threads, 1)
        state = SharedState()
        for worker in 1..<self.threads {
            let state = state
            let thread = Thread { state.serve(part: worker) }
            thread.name = "specula-compute-\(worker)"
            thread.start()
        }
    }

    deinit { state.stop() }

    /// Runs `body(part)` for every part in `0..<threads`, part 0 on the calling thread, and returns
    /// when all are done.
    package func run(_ body: (Int) -> Void) {
        guard threads > 1 else { return body(0) }
        submission.withLock { _ in
            withoutActuallyEscaping(body) { body in
                state.post(body, workers: threads - 1)
                body(0)
                state.waitForWorkers()
            }
        }
    }

    /// Runs `body(chunk)` for every chunk in `0..<chunks`, handing chunks out one at a time to
    /// whichever thread is free, so that a thread the system slows down (an interrupt, another
    /// process on its core) takes fewer of them instead of making the others wait.
    package func run(chunks: Int, _ body: (Int) -> Void) {
        let next = Atomic<Int>(0)
        run { _ in
            while true {
                let chunk = next.add(1, ordering: .relaxed).oldValue
                if chunk >= chunks { return }
                body(chunk)
            }
        }
    }

    /// What the caller and the workers share. `job` is written only by the caller before it
    /// publishes a new generation, and read by workers only after they observe it.
    private final class SharedState: @unchecked Sendable {
        let generation = Atomic<Int>(0)
        let remaining = Atomic<Int>(0)
        let sleepers = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let wake = NSCondition()
        nonisolated(unsafe) var job: ((Int) -> Void)?

        /// How long an idle worker spins with `pause`, then with `sched_yield`, before it sleeps.
        static let spinNanoseconds: UInt64 = 50_000
        static let yieldNanoseconds: UInt64 = 2_000_000

        func post(_ body: @escaping (Int) -> Void, workers: Int) {
            job = body
            remaining.store(workers, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
        }

        func waitForWorkers() {
            while remaining.load(ordering: .acquiring) > 0 { spinPause() }
            job = nil
        }

        func stop() {
            stopping.store(true, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            wake.lock()
            wake.broadcast()
            wake.unlock()
        }

        func serve(part: Int) {
            var seen = 0
            while true {
                seen = awaitGeneration(after: seen)
                if stopping.load(ordering: .acquiring) { return }
                job?(part)
                remaining.subtract(1, ordering: .releasing)
            }
        }

        /// Spins, then sleeps, until the generation moves past `seen`; returns the new one.
        private func awaitGeneration(after seen: Int) -> Int {
            let start = DispatchTime.now().uptimeNanoseconds
            var spins = 0, yielding = false
            while true {
                let current = generation.load(ordering: .acquiring)
                if current != seen { return current }
                spins += 1
                if yielding {
                    sched_yield()
                    if spins & 63 == 0, DispatchTime.now().uptimeNanoseconds - start > Self.yieldNanoseconds { break }
                } else {
                    spinPause()
                    if spins & 255 == 0 { yielding = DispatchTime.now().uptimeNanoseconds - start > Self.spinNanoseconds }
                }
            }
            wake.lock()
            defer { wake.unlock() }
            sleepers.add(1, ordering: .sequentiallyConsistent)
            defer { sleepers.subtract(1, ordering: .sequentiallyConsistent) }
            while true {
                let current = generation.load(ordering: .sequentiallyConsistent)
                if current != seen { return current }
                wake.wait()
            }
        }

        @inline(__always)
        private func spinPause() {
            #if arch(x86_64)
            cx86_pause()
            #endif
        }
    }
}
