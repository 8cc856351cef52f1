import Synchronization
import SpeculaKernels
import SpeculaModel
import Testing

/// The engine's thread pool: every part (or chunk) of every job runs exactly once, jobs never
/// overlap, and callers on several threads are served one job at a time.
struct ComputePoolTests {
    @Test(arguments: [1, 2, 3])
    func everyPartRunsOncePerJob(threads: Int) {
        let pool = ComputePool(threads: threads)
        let counts = Mutex([Int](repeating: 0, count: threads))
        for _ in 0..<500 {
            pool.run { part in counts.withLock { $0[part] += 1 } }
        }
        #expect(counts.withLock { $0 } == [Int](repeating: 500, count: threads))
    }

    @Test(arguments: [1, 2, 3])
    func everyChunkRunsOnce(threads: Int) {
        let pool = ComputePool(threads: threads)
        let counts = Mutex([Int](repeating: 0, count: 37))
        for _ in 0..<200 {
            pool.run(chunks: 37) { chunk in counts.withLock { $0[chunk] += 1 } }
        }
        #expect(counts.withLock { $0 } == [Int](repeating: 200, count: 37))
    }

    /// Parts of jobs running now, and how often more than one job's parts were seen at once.
    final class Occupancy: Sendable {
        let running = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)
    }

    @Test func concurrentCallersGetWholeJobs() async {
        let pool = ComputePool(threads: 3)
        let occupancy = Occupancy()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<100 {
                        // All 3 parts of a job run together; a part of another job never joins them.
                        pool.run { _ in
                            if occupancy.running.add(1, ordering: .sequentiallyConsistent).newValue > 3 {
                                occupancy.overlaps.add(1, ordering: .relaxed)
                            }
                            occupancy.running.subtract(1, ordering: .sequentiallyConsistent)
                        }
                    }
                }
            }
        }
        #expect(occupancy.overlaps.load(ordering: .relaxed) == 0)
    }
}
