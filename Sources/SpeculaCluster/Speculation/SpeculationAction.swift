import SpeculaCore
package import SpeculaNet

/// What `SpeculationCore` asks its shell to do after an event, in order. Peers are ids: the shell
/// maps them to connections (the coordinator) or to in-process drafters (`LocalGenerator`).
package enum SpeculationAction {
    /// Sends a message to a peer.
    case send(Message, to: UInt64)
    /// Sends the error to the peer, then closes its connection.
    case disconnect(UInt64, ErrorMessage)
    /// The peer's handshake succeeded: its handshake deadline no longer applies.
    case admit(UInt64)
    /// Runs the target pass, then reports its rows with `SpeculationCore.passFinished`.
    case score(TargetPass)
    /// Keeps the scorer's state (KV cache) of a request to the pass's accepted nodes (root
    /// excluded, root first); the next pass of the request builds on it.
    case commit(request: UInt64, nodes: [Int])
    /// Frees the scorer's state of a request that ended.
    case release(request: UInt64)
    /// Calls `SpeculationCore.waitDeadline(request:wait:at:)` after `delay`.
    case armDeadline(request: UInt64, wait: UInt64, after: Duration)
}

/// One batched target pass: every request that had something to score when it started.
package struct TargetPass: Sendable {
    package let steps: [PassStep]

    /// What the scorer scores: one item per step.
    package var items: [ScoringItem] { steps.map(\.item) }
    package var tokens: Int { steps.reduce(0) { $0 + $1.tree.count } }
}

/// One request's part of a target pass: its tree of draft tokens (maybe the newest context token
/// alone) and the draft rows at the tree's internal nodes.
package struct PassStep: Sendable {
    package let item: ScoringItem
    let round: UInt64
    /// The merged drafts: the tree's rows, per pool when they come from several.
    let merged: PassTree
    /// Draft index (in the round) of each tree draft.
    let draftIndices: [Int]
    /// How long the request waited for draft tokens before this pass.
    let waited: Duration
    /// Tree drafts that already took part in an earlier pass of the round.
    let continued: Int

    var id: UInt64 { item.request }
    var tree: DraftTree { item.tree }
}
