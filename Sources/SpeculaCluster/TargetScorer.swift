import Synchronization
package import SpeculaCore
package import SpeculaModel

/// The coordinator's scorer (vLLM's "scorer"): the target's row q(·|context, path(node)) at every
/// node of a round's draft tree, after the request's sampling transform.
///
/// `accept` tells a stateful scorer which branch the verifier kept, so its KV state can keep that
/// branch and drop the rest; `release` frees a finished request's state. Thread-safe.
package protocol TargetScorer: Sendable {
    func score(request: UInt64, context: [Token], tree: DraftTree, sampling: SamplingParameters) -> [DenseDistribution]
    /// `nodes`: the accepted tree nodes, root excluded, root first.
    func accept(request: UInt64, nodes: [Int])
    func release(request: UInt64)
}

/// Scores with an `ExactModel` (toy and synthetic models): one row per node, no state.
package struct ExactScorer: TargetScorer {
    let model: any ExactModel

    package func score(request: UInt64, context: [Token], tree: DraftTree, sampling: SamplingParameters) -> [DenseDistribution] {
        (0..<tree.count).map { sampling.distribution(probabilities: model.distribution(after: context + tree.path(to: $0)).probabilities) }
    }

    package func accept(request: UInt64, nodes: [Int]) {}
    package func release(request: UInt64) {}
}

/// Scores with the transformer engine: one pass over the tokens not yet in the request's KV cache
/// followed by the whole draft tree (tree attention), then keeps only the accepted branch.
package final class EngineScorer: TargetScorer {
    private let engine: TransformerModel
    private let states = Mutex<[UInt64: State]>([:])

    private struct State {
        var cache: KVCache
        var pending = 0
        var last: TransformerModel.TreeResult?
    }

    package init(engine: TransformerModel) { self.engine = engine }

    package func score(request: UInt64, context: [Token], tree: DraftTree, sampling: SamplingParameters) -> [DenseDistribution] {
        var state = states.withLock { $0[request] } ?? State(cache: engine.makeCache())
        // At least the last context token is evaluated: its logits are the root's row.
        if state.cache.count >= context.count { state.cache.truncate(to: context.count - 1) }
        let pending = Array(context[state.cache.count...])
        var tokens = pending
        var parents = pending.indices.map { $0 - 1 }
        for node in 1..<max(tree.count, 1) {
            tokens.append(tree[node].token)
            let parent = tree[node].parent
            parents.append(parent == 0 ? pending.count - 1 : pending.count + parent - 1)
        }
        let result = engine.evaluate([TokenTree(tokens: tokens, parents: parents)], caches: [state.cache])[0]
        state.pending = pending.count
        state.last = result
        states.withLock { $0[request] = state }
        return (0..<tree.count).map { node in
            sampling.distribution(logits: result.logits[node == 0 ? pending.count - 1 : pending.count + node - 1])
        }
    }

    package func accept(request: UInt64, nodes: [Int]) {
        states.withLock { states in
            guard var state = states[request], let last = state.last else { return }
            let indices = Array(0..<state.pending) + nodes.map { state.pending + $0 - 1 }
            engine.commit(last, nodes: indices, to: &state.cache)
            state.last = nil
            states[request] = state
        }
    }

    package func release(request: UInt64) {
        _ = states.withLock { $0.removeValue(forKey: request) }
    }
}
