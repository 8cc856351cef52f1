/// Whether drafting beats plain continuous batching at the load the coordinator carries now:
/// measured side by side, not modelled.
///
/// The batch plan and the draft supply model the costs they can see (the longer pass, the wait
/// for drafts). Some they cannot: workers that share memory bandwidth with the target slow its
/// passes while they draft, and drafts that a busy pool delivers late help little. So the
/// coordinator also measures what users measure — tokens out per second — at each load level
/// (running requests: 1, 2, 3–4, 5–8, …) in both modes, an epoch of passes at a time, and drafts
/// only where drafting measured faster. The losing mode is tried again now and then, at
/// intervals that double while it keeps losing (from 2 epochs up to 32), so that a change in
/// load, prompts or pool is noticed at a small cost. Plain batching is not tried at all while
/// drafting beats by `clearWin` both what plain batching measured and what it would give by the
/// pass cost line (its passes' time for the running requests' tokens): a try costs an epoch, and
/// at one request on a CPU, or at 16 on a GPU, drafting is worth far more than plain decoding.
/// Drafting's own rate is measured all along, so a drop in it brings the tries back.
///
/// It reads only timing and token counts of past passes, never the current drafts' tokens, so
/// every request still draws from the target's exact law.
package struct DraftingPayoff: Sendable {
    package enum Mode: Hashable { case drafting, plain }

    /// A measured epoch: the load level and mode it ran, the tokens per second it reached, and
    /// the mode of the level's next epoch.
    package struct Epoch: Equatable {
        package let level: Int, mode: Mode, tokensPerSecond: Double, next: Mode
        /// Whether the level's mode changes.
        package var changed: Bool { next != mode }
    }

    /// What is known at one load level.
    private struct Level {
        var mode = Mode.drafting
        /// Tokens per second each mode reached, a moving average over its epochs.
        var rate: [Mode: Double] = [:]
        /// The current epoch: passes since the mode changed (the first `settlePasses` not
        /// counted), and the tokens and seconds of those counted.
        var passes = 0, tokens = 0, seconds = 0.0
        /// The faster mode as measured so far.
        var leader: Mode?
        /// Epochs the leader has run since the other mode was last tried, and how many it runs
        /// before the next try.
        var epochsSinceTry = 0, tryEvery = 2
    }

    private var levels: [Int: Level] = [:]
    /// Tokens emitted since the last pass ended, and when it ended.
    private var emitted = 0
    private var lastPassEnd: ContinuousClock.Instant?

    /// Passes after a change of mode that are not measured (the new mode's drafts start, or the
    /// old mode's end), and passes an epoch then measures.
    package let settlePasses: Int, epochPasses: Int
    /// How much faster than plain batching (measured, and by the cost line's estimate) drafting
    /// must be for plain batching not to be tried.
    package let clearWin: Double

    package init(settlePasses: Int = 4, epochPasses: Int = 24, clearWin: Double = 1.15) {
        precondition(settlePasses >= 0 && epochPasses >= 1 && clearWin >= 1)
        (self.settlePasses, self.epochPasses, self.clearWin) = (settlePasses, epochPasses, clearWin)
    }
    /// The longest interval, in epochs, between two tries of the losing mode.
    package static let maxTryEvery = 32

    /// The load level of `running` requests: 0 for 1, 1 for 2, 2 for 3–4, 3 for 5–8, …
    package static func level(running: Int) -> Int { running <= 1 ? 0 : Int.bitWidth - (running - 1).leadingZeroBitCount }

    /// The mode at `running` requests.
    package func mode(running: Int) -> Mode { levels[Self.level(running: running)]?.mode ?? .drafting }

    /// Tokens went out to a client.
    package mutating func emitted(_ tokens: Int) { emitted += tokens }

    /// A pass ended with `running` requests in flight, where plain batching would give about
    /// `plainEstimate` tokens per second; returns the epoch it ended, if any. An `unmeasured` pass
    /// is left out: one that read a new request's prompt (its cost says nothing of either mode,
    /// and would swamp an epoch's measure), or one with a request that sets its own drafts (the
    /// payoff does not steer it, so it measures neither mode).
    package mutating func passFinished(running: Int, plainEstimate: Double, unmeasured: Bool = false,
                                       at now: ContinuousClock.Instant) -> Epoch? {
        defer { (emitted, lastPassEnd) = (0, now) }
        guard let last = lastPassEnd, running > 0, !unmeasured else { return nil }
        let key = Self.level(running: running)
        var level = levels[key] ?? Level()
        defer { levels[key] = level }
        level.passes += 1
        guard level.passes > settlePasses else { return nil }
        level.tokens += emitted
        level.seconds += (now - last) / .seconds(1)
        guard level.passes == settlePasses + epochPasses else { return nil }
        let rate = Double(level.tokens) / max(level.seconds, 1e-9)
        level.rate[level.mode] = level.rate[level.mode].map { ($0 + rate) / 2 } ?? rate
        (level.passes, level.tokens, level.seconds) = (0, 0, 0)
        let next = nextMode(after: &level, plainEstimate: plainEstimate)
        let epoch = Epoch(level: key, mode: level.mode, tokensPerSecond: rate, next: next)
        level.mode = epoch.next
        return epoch
    }

    /// The mode of the level's next epoch: the other one while it is unmeasured; then the faster
    /// one, with the slower one tried after `tryEvery` epochs (doubling while it stays slower).
    private func nextMode(after level: inout Level, plainEstimate: Double) -> Mode {
        if level.mode == .drafting, let drafting = level.rate[.drafting],
           drafting >= clearWin * max(plainEstimate, level.rate[.plain] ?? 0) {
            return .drafting
        }
        let other: Mode = level.mode == .drafting ? .plain : .drafting
        guard let current = level.rate[level.mode], let alternative = level.rate[other] else { return other }
        let best = current >= alternative ? level.mode : other
        if best != level.leader {
            (level.leader, level.tryEvery, level.epochsSinceTry) = (best, 2, 0)
        }
        guard best == level.mode else { return best }  // the mode just tried lost
        level.epochsSinceTry += 1
        guard level.epochsSinceTry >= level.tryEvery else { return best }
        level.epochsSinceTry = 0
        level.tryEvery = min(level.tryEvery * 2, Self.maxTryEvery)
        return other
    }
}
