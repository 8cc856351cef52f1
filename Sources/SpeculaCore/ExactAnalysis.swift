/// Exact laws of speculative sampling on toy models, by enumerating every draft and every
/// accept/reject branch (verifiers.md, "How to test a verifier exactly").
///
/// Laws are memoised by the context suffix the models can see, so a multi-round law over N tokens
/// costs one enumeration per distinct suffix.
package final class ExactAnalysis {
    package let sampler: SpeculativeSampler
    private var roundLaws: [[Token]: [[Token]: Double]] = [:]

    package init(sampler: SpeculativeSampler) { self.sampler = sampler }

    private var window: Int? {
        let windows = [sampler.target.contextWindow] + sampler.pools.map(\.contextWindow)
        guard windows.allSatisfy({ $0 != nil }) else { return nil }
        return windows.compactMap { $0 }.max()
    }

    private func key(_ context: [Token]) -> [Token] {
        guard let window else { return context }
        return Array(context.suffix(window))
    }

    /// The law of the tokens one round emits from `context`.
    package func roundLaw(context: [Token]) -> [[Token]: Double] {
        let k = key(context)
        if let law = roundLaws[k] { return law }
        let law = ChoiceEnumerator.law { choices in
            sampler.round(context: context, choices: &choices).emittedTokens
        }
        roundLaws[k] = law
        return law
    }

    /// The law of the first `count` generated tokens after `prompt`, over as many rounds as needed.
    package func outputLaw(prompt: [Token], count: Int) -> [[Token]: Double] {
        guard count > 0 else { return [[]: 1] }
        var law: [[Token]: Double] = [:]
        for (emitted, p) in roundLaw(context: prompt) {
            if emitted.count >= count || emitted.last == sampler.endOfSequence {
                law[Array(emitted.prefix(count)), default: 0] += p
            } else {
                for (rest, r) in outputLaw(prompt: prompt + emitted, count: count - emitted.count) {
                    law[emitted + rest, default: 0] += p * r
                }
            }
        }
        return law
    }

    /// The law of the first `count` tokens of plain target sampling (with the sampling transform).
    package func targetLaw(prompt: [Token], count: Int) -> [[Token]: Double] {
        guard count > 0 else { return [[]: 1] }
        var law: [[Token]: Double] = [:]
        sampler.targetRow(prompt).forEachOutcome { token, p in
            if token == sampler.endOfSequence {
                law[[token], default: 0] += p
                return
            }
            for (rest, r) in targetLaw(prompt: prompt + [token], count: count - 1) {
                law[[token] + rest, default: 0] += p * r
            }
        }
        return law
    }

    /// Expected tokens emitted by one round from `context` (accepted draft tokens + 1).
    package func expectedTokensPerRound(context: [Token]) -> Double {
        roundLaw(context: context).reduce(0) { $0 + Double($1.key.count) * $1.value }
    }

    /// The SpecTr-GBV paper's claimed tokens per round, a reference ceiling:
    /// 1 + Σ_{t=1}^{γ} Σ_{x^t} Q(x^t)·[1 − (1 − min(1, P(x^t)/Q(x^t)))^K], where P and Q are the
    /// draft's and target's probabilities of the whole prefix x^t (pool 0's drafts only).
    package func paperCeiling(context: [Token]) -> Double {
        var total = 1.0
        func walk(_ prefix: [Token], _ bigP: Double, _ bigQ: Double) {
            guard prefix.count < sampler.blockLength else { return }
            let q = sampler.targetRow(context + prefix)
            let p = sampler.draftRow(context + prefix)
            q.forEachOutcome { token, qt in
                let nextQ = bigQ * qt, nextP = bigP * (p?.probability(of: token) ?? 0)
                total += nextQ * (1 - (1 - min(1, nextP / nextQ)).power(sampler.pools[0].drafts))
                walk(prefix + [token], nextP, nextQ)
            }
        }
        walk([], 1, 1)
        return total
    }

    /// Total-variation distance between two laws: ½ Σ |a − b|.
    package static func totalVariation<Key: Hashable>(_ a: [Key: Double], _ b: [Key: Double]) -> Double {
        let keys = Set(a.keys).union(b.keys)
        return keys.reduce(0) { $0 + abs(a[$1, default: 0] - b[$1, default: 0]) } / 2
    }
}
