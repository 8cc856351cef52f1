import Synchronization
package import SpeculaCore

/// The engine seen as an `ExactModel`: `distribution(after:)` for any context, made incremental by
/// a small cache of recent sequences (KV cache + last logits), so extending a recent context by a
/// token costs one decode step. This is how a draft worker drafts token by token.
///
/// Thread-safe; one cache shared by all callers (a worker's requests), least recently used evicted.
package final class EngineSequenceModel: ExactModel, Sendable {
    package let engine: TransformerModel
    private let states = Mutex<[Entry]>([])
    private let capacity: Int

    private struct Entry {
        var tokens: [Int]
        var cache: KVCache
        var logits: [Float]
        var used: UInt64
    }

    private let clock = Atomic<UInt64>(0)

    package init(engine: TransformerModel, capacity: Int = 32) {
        self.engine = engine
        self.capacity = capacity
    }

    package var vocabularySize: Int { engine.vocabularySize }
    package var contextWindow: Int? { nil }

    /// Raw next-token probabilities (softmax of the logits, temperature 1).
    package func distribution(after context: [Token]) -> DenseDistribution {
        SamplingParameters().distribution(logits: logits(after: context))
    }

    /// The transform applied to the logits directly (no probabilities → log round trip).
    package func distribution(after context: [Token], sampling: SamplingParameters) -> DenseDistribution {
        sampling.distribution(logits: logits(after: context))
    }

    /// Raw logits after `context` (at least one token).
    package func logits(after context: [Token]) -> [Float] {
        precondition(!context.isEmpty, "the engine needs at least one context token")
        let now = clock.wrappingAdd(1, ordering: .relaxed).newValue
        // The longest cached sequence that is a prefix of `context`.
        let base: Entry? = states.withLock { entries in
            var best: Int? = nil
            for (i, e) in entries.enumerated() where e.tokens.count <= context.count && (best == nil || e.tokens.count > entries[best!].tokens.count) {
                if context.starts(with: e.tokens) { best = i }
            }
            guard let best else { return nil }
            entries[best].used = now
            return entries[best]
        }
        if let base, base.tokens.count == context.count { return base.logits }
        var cache = base?.cache ?? engine.makeCache()
        let logits = engine.decode(Array(context[(base?.tokens.count ?? 0)...]), cache: &cache)
        states.withLock { entries in
            entries.append(Entry(tokens: context, cache: cache, logits: logits, used: now))
            if entries.count > capacity, let oldest = entries.indices.min(by: { entries[$0].used < entries[$1].used }) {
                entries.remove(at: oldest)
            }
        }
        return logits
    }
}
