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
    /// Several requests' trees in one target pass (continuous batching); rows per item.
    func scoreBatch(_ items: [ScoringItem]) -> [[DenseDistribution]]
    /// `nodes`: the accepted tree nodes, root excluded, root first.
    func accept(request: UInt64, nodes: [Int])
    func release(request: UInt64)
}

/// One request's tree to score.
package struct ScoringItem: Sendable {
    package var request: UInt64
    package var context: [Token]
    package var tree: DraftTree
    package var sampling: SamplingParameters
}

extension TargetScorer {
    package func scoreBatch(_ items: [ScoringItem]) -> [[DenseDistribution]] {
        items.map { score(request: $0.request, context: $0.context, tree: $0.tree, sampling: $0.sampling) }
    }
}

/// Scores with an `ExactModel` (toy and synthetic models): one row per node, no state.
package struct ExactScorer: TargetScorer {
    let model: any ExactModel

    package func score(request: UInt64, context: [Token], tree: DraftTree, sampling: SamplingParameters) -> [DenseDistribution] {
        scoreBatch([ScoringItem(request: request, context: context, tree: tree, sampling: sampling)])[0]
    }

    /// One simulated pass (synthetic models) for all items, then one row per node.
    package func scoreBatch(_ items: [ScoringItem]) -> [[DenseDistribution]] {
        (model as? SyntheticModel)?.simulatePass(tokens: items.reduce(0) { $0 + $1.tree.count })
        return items.map { rows($0.context, $0.tree, $0.sampling) }
    }

    private func rows(_ context: [Token], _ tree: DraftTree, _ sampling: SamplingParameters) -> [DenseDistribution] {
        (0..<tree.count).map { model.distribution(after: context + tree.path(to: $0), sampling: sampling) }
    }

    package func accept(request: UInt64, nodes: [Int]) {}
    package func release(request: UInt64) {}
}

/// Scores with the transformer engine: one pass over the tokens not yet in the request's KV cache
/// followed by the whole draft tree (tree attention), then keeps only the accepted branch. With
/// a prompt cache, a finished request's cache is kept and a new request starts from the longest
/// prefix of its context found there.
package final class EngineScorer: TargetScorer {
    private let engine: TransformerModel
    private let states = Mutex<[UInt64: State]>([:])
    /// Finished requests' caches, kept while all caches fit in `promptCacheBytes` (nil: none kept).
    private let promptCache = Mutex(PromptCache())
    private let promptCacheBytes: Int?

    private struct State {
        var cache: KVCache
        /// The tokens whose keys and values `cache` holds.
        var committed: [Token]
        /// The last pass's tokens in evaluation order: the context's pending ones, then the tree's nodes.
        var scored: [Token] = []
        var pending = 0
        var last: TransformerModel.TreeResult?
    }

    /// `promptCacheBytes`: keep finished requests' caches while all caches fit in that many bytes
    /// (nil: keep none).
    package init(engine: TransformerModel, promptCacheBytes: Int? = nil) {
        self.engine = engine
        self.promptCacheBytes = promptCacheBytes
    }

    package func score(request: UInt64, context: [Token], tree: DraftTree, sampling: SamplingParameters) -> [DenseDistribution] {
        scoreBatch([ScoringItem(request: request, context: context, tree: tree, sampling: sampling)])[0]
    }

    /// One engine pass over all items: each item's tokens not yet in its cache, then its tree.
    package func scoreBatch(_ items: [ScoringItem]) -> [[DenseDistribution]] {
        var states: [State] = []
        var trees: [TokenTree] = []
        for item in items {
            var state = self.states.withLock { $0[item.request] } ?? start(item.context)
            // At least the last context token is evaluated: its logits are the root's row.
            if state.cache.count >= item.context.count {
                state.cache.truncate(to: item.context.count - 1)
                state.committed.removeLast(state.committed.count - state.cache.count)
            }
            // A long prompt goes into the cache in passes of its own first; its last token joins
            // the round's pass.
            if item.context.count - 1 - state.cache.count > TransformerModel.passTokens {
                let prefix = Array(item.context[state.cache.count..<item.context.count - 1])
                _ = engine.decode(prefix, cache: &state.cache)
                state.committed += prefix
            }
            let pending = Array(item.context[state.cache.count...])
            var tokens = pending
            var parents = pending.indices.map { $0 - 1 }
            for node in 1..<max(item.tree.count, 1) {
                tokens.append(item.tree[node].token)
                let parent = item.tree[node].parent
                parents.append(parent == 0 ? pending.count - 1 : pending.count + parent - 1)
            }
            (state.scored, state.pending) = (tokens, pending.count)
            states.append(state)
            trees.append(TokenTree(tokens: tokens, parents: parents))
        }
        // Logits from the last context token on: the root's row, then the tree's.
        let results = engine.evaluate(trees, caches: states.map(\.cache), logitsFrom: states.map { $0.pending - 1 })
        var rows: [[DenseDistribution]] = []
        for (i, item) in items.enumerated() {
            var state = states[i]
            state.last = results[i]
            self.states.withLock { $0[item.request] = state }
            rows.append((0..<item.tree.count).map { node in
                item.sampling.distribution(logits: results[i].logits[node == 0 ? state.pending - 1 : state.pending + node - 1])
            })
        }
        return rows
    }

    package func accept(request: UInt64, nodes: [Int]) {
        states.withLock { states in
            guard var state = states[request], let last = state.last else { return }
            let indices = Array(0..<state.pending) + nodes.map { state.pending + $0 - 1 }
            engine.commit(last, nodes: indices, to: &state.cache)
            state.committed += indices.map { state.scored[$0] }
            state.last = nil
            states[request] = state
        }
    }

    package func release(request: UInt64) {
        guard let state = states.withLock({ $0.removeValue(forKey: request) }), let budget = promptCacheBytes else { return }
        let live = states.withLock { $0.values.reduce(0) { $0 + $1.cache.byteCount } }
        promptCache.withLock { cache in
            cache.insert(tokens: state.committed, cache: state.cache)
            cache.evict(toFit: max(0, budget - live))
        }
    }

    /// Finished requests' caches kept (0 without a prompt cache).
    package var promptCacheEntries: Int { promptCache.withLock(\.count) }

    /// A new request's state: from the longest prefix of its context that a kept cache holds
    /// (short of the last token, whose row the pass computes), else empty.
    private func start(_ context: [Token]) -> State {
        guard promptCacheBytes != nil, let hit = promptCache.withLock({ $0.longestPrefix(of: context.dropLast()) }) else {
            return State(cache: engine.makeCache(), committed: [])
        }
        return State(cache: hit.cache, committed: Array(context[..<hit.length]))
    }
}
