import Synchronization
package import SpeculaCore

/// The engine seen as an `ExactModel`: `distribution(after:)` for any context, made incremental by
/// a small cache of recent sequences (KV cache + last logits), so extending a recent context by a
/// token costs one decode step, and extending several by a token costs one batched pass
/// (`logits(after:)` over contexts). This is how a draft worker drafts its blocks, a step at a time.
///
/// A step's sequences supersede the step sequences they extend (a draft needs only its newest), so
/// a request being drafted holds its context (up to its last token or two) and one sequence per
/// draft, not one per drafted token: a worker serving many requests keeps every request's context
/// cached between rounds instead of evicting it and reading the whole context again.
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
        /// Made by a batched step (`logits(after:)` over contexts): superseded by the next step.
        var isStep = false
    }

    private let clock = Atomic<UInt64>(0)

    package init(engine: TransformerModel, capacity: Int = 64) {
        self.engine = engine
        self.capacity = capacity
    }

    /// Sequences cached now.
    package var cachedSequences: Int { states.withLock { $0.count } }

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

    package func distributions(after contexts: [[Token]], sampling: SamplingParameters) -> [DenseDistribution] {
        logits(after: contexts).map { sampling.distribution(logits: $0) }
    }

    /// Raw logits after `context` (at least one token).
    package func logits(after context: [Token]) -> [Float] {
        precondition(!context.isEmpty, "the engine needs at least one context token")
        let base = longestCachedPrefix(of: context)
        if let base, base.tokens.count == context.count { return base.logits }
        var cache = base?.cache ?? engine.makeCache()
        let logits = engine.decode(Array(context[(base?.tokens.count ?? 0)...]), cache: &cache)
        store(Entry(tokens: context, cache: cache, logits: logits, used: 0))
        return logits
    }

    /// Raw logits after each of `contexts` (each at least one token). The contexts that extend a
    /// cached sequence by one token — the drafts of one drafting step — go through the engine
    /// together in one pass: on a core bound by memory bandwidth a pass of 4 tokens costs about
    /// 1.3 passes of 1, so K drafts cost far less than K times one. Equal contexts are evaluated
    /// once; the logits are bitwise those of `logits(after:)` (the engine is batch invariant).
    package func logits(after contexts: [[Token]]) -> [[Float]] {
        var steps: [(context: [Token], base: Entry?)] = []
        var done: [[Token]: [Float]] = [:]
        for context in Set(contexts) {
            precondition(!context.isEmpty, "the engine needs at least one context token")
            var base = longestCachedPrefix(of: context)
            if let base, base.tokens.count == context.count {
                done[context] = base.logits
                continue
            }
            if (base?.tokens.count ?? 0) < context.count - 1 {
                _ = logits(after: Array(context.dropLast()))
                base = longestCachedPrefix(of: context)
            }
            steps.append((context, base))
        }
        let caches = steps.map { $0.base?.cache ?? engine.makeCache() }
        let results = engine.evaluate(steps.map { .chain([$0.context.last!]) }, caches: caches)
        for (i, (step, result)) in zip(steps, results).enumerated() {
            var cache = caches[i]
            engine.commit(result, nodes: [0], to: &cache)
            store(Entry(tokens: step.context, cache: cache, logits: result.logits[0], used: 0, isStep: true))
            done[step.context] = result.logits[0]
        }
        let superseded = Set(steps.compactMap { step in step.base.flatMap { $0.isStep ? $0.tokens : nil } })
        if !superseded.isEmpty { states.withLock { $0.removeAll { $0.isStep && superseded.contains($0.tokens) } } }
        return contexts.map { done[$0]! }
    }

    /// The longest cached sequence that is a prefix of `context`, marked as just used.
    private func longestCachedPrefix(of context: [Token]) -> Entry? {
        let now = clock.wrappingAdd(1, ordering: .relaxed).newValue
        return states.withLock { entries in
            var best: Int? = nil
            for (i, e) in entries.enumerated() where e.tokens.count <= context.count && (best == nil || e.tokens.count > entries[best!].tokens.count) {
                if context.starts(with: e.tokens) { best = i }
            }
            guard let best else { return nil }
            entries[best].used = now
            return entries[best]
        }
    }

    /// Caches `entry` as the most recently used, evicting the least recently used beyond capacity.
    private func store(_ entry: Entry) {
        var entry = entry
        entry.used = clock.wrappingAdd(1, ordering: .relaxed).newValue
        states.withLock { entries in
            entries.append(entry)
            if entries.count > capacity, let oldest = entries.indices.min(by: { entries[$0].used < entries[$1].used }) {
                entries.remove(at: oldest)
            }
        }
    }
}
