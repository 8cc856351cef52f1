import Foundation
import Synchronization

extension EventLoop {
    /// Runs `body` on the loop thread and waits for its result. Runs it directly when already on
    /// the loop thread. Must not be called after shutdown.
    func submitAndWait<T, E: Error>(_ body: @escaping () throws(E) -> T) throws(E) -> T {
        if isOnLoopThread { return try body() }
        let box = ResultBox<T, E>()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let work = body  // runs on the loop thread while this thread waits
        let submitted = execute {
            box.result = Result { () throws(E) -> T in try work() }
            done.signal()
        }
        precondition(submitted, "submitAndWait after the event loop shut down")
        done.wait()
        return try box.result!.get()
    }
}

/// Carries a result from the loop thread back to a waiting thread (the semaphore orders access).
private final class ResultBox<T, E: Error>: @unchecked Sendable {
    // @unchecked Sendable invariant: written once on the loop thread before `done.signal()`, read
    // after `done.wait()`.
    var result: Result<T, E>?
}
