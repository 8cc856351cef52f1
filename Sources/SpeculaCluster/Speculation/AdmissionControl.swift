/// Which requests the coordinator generates and which wait, so that a flood slows no one down
/// and exhausts no memory: at most `maxRunning` requests run at once, and only while their KV
/// caches fit the budget; the others wait in arrival order in a queue of at most `maxWaiting`,
/// and past that a request is refused (`overloaded`, HTTP 429) at once.
///
/// KV memory is counted from each running request's positions — its context plus the largest
/// draft tree its next pass may score — in the target's bytes per position, in whole cache pages.
/// A request is let in when its positions fit beside the running ones'. Running requests grow;
/// when together they outgrow the budget, the newest are preempted (vLLM's recompute
/// preemption): their caches are freed and they wait at the head of the queue, to read their
/// context again once there is room. The oldest request always runs, and a request too large
/// for the whole budget is refused at the door, so every admitted request finishes.
package struct AdmissionControl {
    /// The capacity settings (`--max-requests`, `--max-queue`, `--kv-cache-bytes`).
    package struct Limits: Sendable {
        /// Requests generated at once.
        package var maxRunning = 256
        /// Requests waiting for a place; past it a request is refused.
        package var maxWaiting = 1024
        /// KV-cache bytes the running requests may hold together; nil: no budget.
        package var kvCacheBytes: Int?

        package init() {}
    }

    package let limits: Limits
    /// Bytes one context position takes in the target's KV cache (0: a model without one).
    package let bytesPerPosition: Int
    /// Positions per cache page: the unit memory is held in.
    package let pagePositions: Int
    /// Running requests, in the order they were let in.
    package private(set) var running: [UInt64] = []
    /// Waiting requests, first to be let in first.
    package private(set) var waiting: [UInt64] = []

    package init(limits: Limits, bytesPerPosition: Int, pagePositions: Int) {
        self.limits = limits
        self.bytesPerPosition = bytesPerPosition
        self.pagePositions = max(1, pagePositions)
    }

    /// What happens to a new request.
    package enum Arrival: Equatable {
        case run, wait, refuse
    }

    /// KV-cache bytes of `positions` positions, in whole pages.
    package func bytes(positions: Int) -> Int {
        (positions + pagePositions - 1) / pagePositions * pagePositions * bytesPerPosition
    }

    /// Whether a request of `positions` positions fits the budget with nothing else running.
    package func fitsAlone(positions: Int) -> Bool { fits(bytes(positions: positions)) }

    /// Bytes the running requests hold, given each one's positions.
    package func heldBytes(positions: (UInt64) -> Int) -> Int { running.reduce(0) { $0 + bytes(positions: positions($1)) } }

    /// A new request of `positions` positions: it runs if nobody waits before it and it fits,
    /// else it waits if the queue has room, else it is refused.
    package mutating func arrive(_ id: UInt64, positions: Int, held: Int) -> Arrival {
        if waiting.isEmpty, running.count < limits.maxRunning, fits(held + bytes(positions: positions)) {
            running.append(id)
            return .run
        }
        guard waiting.count < limits.maxWaiting else { return .refuse }
        waiting.append(id)
        return .wait
    }

    /// A request ended, running or waiting.
    package mutating func leave(_ id: UInt64) {
        running.removeAll { $0 == id }
        waiting.removeAll { $0 == id }
    }

    /// Lets waiting requests in, first come first, while they fit; returns them.
    package mutating func admit(positions: (UInt64) -> Int) -> [UInt64] {
        var held = heldBytes(positions: positions)
        var admitted: [UInt64] = []
        while let next = waiting.first, running.count < limits.maxRunning {
            let more = bytes(positions: positions(next))
            // The oldest request runs whatever it needs: it was checked to fit alone.
            guard running.isEmpty || fits(held + more) else { break }
            waiting.removeFirst()
            running.append(next)
            held += more
            admitted.append(next)
        }
        return admitted
    }

    /// The running requests to preempt so that the others fit: the newest first, never the
    /// oldest. They go back to the head of the queue, in their order.
    package mutating func preempt(positions: (UInt64) -> Int) -> [UInt64] {
        var held = heldBytes(positions: positions)
        var preempted: [UInt64] = []
        while !fits(held), running.count > 1 {
            let newest = running.removeLast()
            held -= bytes(positions: positions(newest))
            preempted.append(newest)
        }
        waiting.insert(contentsOf: preempted.reversed(), at: 0)
        return preempted
    }

    private func fits(_ bytes: Int) -> Bool { limits.kvCacheBytes.map { bytes <= $0 } ?? true }
}
