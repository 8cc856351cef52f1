import Foundation
import Synchronization

/// Work queued for the loop thread.
private final class Inbox: Sendable {
    let queue = Mutex<[@Sendable () -> Void]>([])
    func withLock<R>(_ body: (inout [@Sendable () -> Void]) -> R) -> R { queue.withLock { body(&$0) } }
}

/// One libuv loop on its own thread: all socket I/O of a process happens here.
///
/// Other threads hand work to the loop with `execute`, which appends to a locked inbox and wakes
/// the loop with `uv_async_send`; the async callback drains the *whole* inbox (sends coalesce).
/// Everything that touches a uv handle must run on the loop thread; such methods start with
/// `preconditionOnLoopThread()`.
package final class EventLoop: @unchecked Sendable {
    // @unchecked Sendable invariant: `signals`, `closeHooks` and `nextHookID` are only touched on
    // the loop thread; `uv`, `wakeup` and `thread` are set in `init` and never again, and from
    // other threads only `wakeup.send()` (libuv's one thread-safe call) is used; `loopThreadID` is
    // written once on the loop thread before `init` returns (`ready` orders it); `inbox` and
    // `state` are guarded by their mutexes.
    let uv: UVLoop
    private var wakeup: UVAsync!
    private var signals: [UVSignal] = []
    private var closeHooks: [UInt64: () -> Void] = [:]
    private var nextHookID: UInt64 = 0
    private let inbox = Inbox()
    private let state = Mutex<(running: Bool, shuttingDown: Bool)>((false, false))
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread!
    private nonisolated(unsafe) var loopThreadID: pthread_t? = nil

    /// Starts the loop thread. Throws if libuv cannot create the loop.
    package init(name: String = "specula-uv") throws(UVError) {
        ignoreBrokenPipeSignal()
        uv = try UVLoop()
        // The loop is not running yet, so creating its first handle here is safe.
        let inbox = self.inbox
        wakeup = try UVAsync(loop: uv) { EventLoop.drain(inbox) }
        let ready = DispatchSemaphore(value: 0)
        thread = Thread { [self] in
            loopThreadID = pthread_self()
            state.withLock { $0.running = true }
            ready.signal()
            uv.run()
            uv.destroy()
            state.withLock { $0.running = false }
            finished.signal()
        }
        thread.name = name
        thread.start()
        ready.wait()
    }

    /// True on the loop thread.
    package var isOnLoopThread: Bool {
        guard let id = loopThreadID else { return false }
        return pthread_equal(id, pthread_self()) != 0
    }

    /// Traps unless called on the loop thread.
    package func preconditionOnLoopThread(file: StaticString = #fileID, line: UInt = #line) {
        precondition(isOnLoopThread, "must run on the event loop thread", file: file, line: line)
    }

    /// Runs `work` on the loop thread (soon, in order). Thread-safe. Work submitted after
    /// shutdown is dropped and `false` returned.
    @discardableResult
    package func execute(_ work: @escaping @Sendable () -> Void) -> Bool {
        let accepted = state.withLock { !$0.shuttingDown && $0.running }
        guard accepted else { return false }
        inbox.withLock { $0.append(work) }
        wakeup.send()
        return true
    }

    private static func drain(_ inbox: Inbox) {
        while true {
            let batch = inbox.withLock { queue -> [@Sendable () -> Void] in
                let batch = queue
                queue.removeAll(keepingCapacity: true)
                return batch
            }
            if batch.isEmpty { return }
            for work in batch { work() }
        }
    }

    /// A one-shot or repeating timer on this loop. Loop thread only.
    func makeTimer() throws(UVError) -> UVTimer {
        preconditionOnLoopThread()
        return try UVTimer(loop: uv)
    }

    /// Registers `hook` to run when the loop shuts down (to close a handle). Loop thread only.
    @discardableResult
    func addShutdownHook(_ hook: @escaping () -> Void) -> UInt64 {
        preconditionOnLoopThread()
        nextHookID += 1
        closeHooks[nextHookID] = hook
        return nextHookID
    }

    /// Removes a hook added with `addShutdownHook`. Loop thread only.
    func removeShutdownHook(_ id: UInt64) {
        preconditionOnLoopThread()
        closeHooks[id] = nil
    }

    /// Calls `handler` on the loop thread when the process gets SIGINT or SIGTERM; installed
    /// when this returns. Thread-safe.
    package func onTerminationSignal(_ handler: @escaping @Sendable (Int32) -> Void) throws(UVError) {
        try submitAndWait { [self] () throws(UVError) in
            for signal in [SIGINT, SIGTERM] {
                signals.append(try UVSignal(loop: uv, signal: signal, callback: handler))
            }
        }
    }

    /// Closes every handle (running the shutdown hooks), lets the loop finish and joins its
    /// thread. Thread-safe; idempotent. Must not be called on the loop thread itself unless
    /// `wait` is false.
    package func shutdown(wait: Bool = true) {
        let first = state.withLock { s -> Bool in
            defer { s.shuttingDown = true }
            return !s.shuttingDown && s.running
        }
        if first {
            inbox.withLock { $0.append { [self] in closeEverything() } }
            wakeup.send()
        }
        if wait && !isOnLoopThread {
            finished.wait()
            finished.signal()  // let other waiters through
        }
    }

    private func closeEverything() {
        let hooks = closeHooks.values
        closeHooks.removeAll()
        for hook in hooks { hook() }
        for trap in signals { trap.close() }
        signals.removeAll()
        wakeup.close()
    }

    /// Blocks until the loop has stopped (after `shutdown`, e.g. from a signal handler).
    package func waitUntilStopped() {
        finished.wait()
        finished.signal()
    }

    /// Milliseconds on the loop's clock. Loop thread only.
    var nowMilliseconds: UInt64 { uv.nowMilliseconds }
}
